//! QR code images: a PNG or JPEG file to the text of the QR codes in it.
//!
//! `image` decodes the file and `rqrr` finds and reads the codes on its
//! greyscale pixels. Both run inside the component, so the limits below
//! keep one upload within the instance's memory cap (64 MiB by default).

use std::io::Cursor;

use image::{ImageError, ImageFormat, ImageReader, Limits};

use crate::field_error::FieldError;

/// Largest image file accepted, in bytes. A phone screenshot of a setup page
/// is typically 100-500 KiB as PNG; the bound keeps the upload, and its
/// base64 form in JSON, under the host's default 1 MiB body limit.
pub const MAX_IMAGE_BYTES: usize = 700 * 1024;

/// Most pixels an image may have (2048 x 2048). An 8-bit decode costs up to
/// four bytes per pixel plus one for the greyscale copy and one for the QR
/// detector's, about 25 MiB at this bound. Deeper images stop at
/// [`MAX_DECODE_ALLOC_BYTES`].
pub const MAX_IMAGE_PIXELS: u64 = 2048 * 2048;

/// Most bytes the image decoder may allocate at once: RGBA at the pixel
/// limit plus room for the decoder's own buffers.
const MAX_DECODE_ALLOC_BYTES: u64 = MAX_IMAGE_PIXELS * 4 + 4 * 1024 * 1024;

/// Returns the text of every QR code in the image, one per line, in the
/// order the detector found them. Errors name the field `image`.
pub fn decode_qr_text(bytes: &[u8]) -> Result<String, FieldError> {
    if bytes.is_empty() {
        return Err(FieldError::missing("image", "the image is empty; send a PNG or JPEG file"));
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(FieldError::invalid(
            "image",
            format!("the image is {} bytes; at most {MAX_IMAGE_BYTES} are accepted, so crop or shrink it", bytes.len()),
        ));
    }
    let format = sniff_format(bytes)
        .ok_or_else(|| FieldError::invalid("image", "the image is neither PNG nor JPEG; send a PNG or JPEG file"))?;

    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|_| FieldError::invalid("image", "the image file is damaged or cut off; send it again"))?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_IMAGE_PIXELS {
        return Err(FieldError::invalid(
            "image",
            format!("the image is {width} x {height} = {pixels} pixels; at most {MAX_IMAGE_PIXELS} are accepted, so crop or shrink it"),
        ));
    }

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC_BYTES);
    reader.limits(limits);
    let grey = reader.decode().map_err(decode_error)?.into_luma8();

    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(grey.width() as usize, grey.height() as usize, |x, y| {
            grey.get_pixel(x as u32, y as u32)[0]
        });
    let grids = prepared.detect_grids();
    if grids.is_empty() {
        return Err(FieldError::invalid(
            "image",
            "no QR code was found in the image; send a sharper picture with the whole code and its white border",
        ));
    }

    let texts: Vec<String> = grids.iter().filter_map(|grid| grid.decode().ok().map(|(_, text)| text)).collect();
    if texts.is_empty() {
        return Err(FieldError::invalid("image", "the image shows a QR code that could not be read; send a sharper picture"));
    }
    Ok(texts.join("\n"))
}

/// Maps a decoder failure: past the allocation limit (a 16-bit RGBA image
/// at the pixel limit needs 32 MiB), or a damaged file.
fn decode_error(error: ImageError) -> FieldError {
    match error {
        ImageError::Limits(_) => FieldError::invalid(
            "image",
            format!("the image needs more than {MAX_DECODE_ALLOC_BYTES} bytes of memory to decode; send a smaller or 8-bit image"),
        ),
        _ => FieldError::invalid("image", "the image file is damaged or cut off; send it again"),
    }
}

/// Recognizes PNG and JPEG by their signatures rather than by the declared
/// content type, which clients often get wrong.
pub fn sniff_format(bytes: &[u8]) -> Option<ImageFormat> {
    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    const JPEG_SIGNATURE: &[u8] = b"\xff\xd8\xff";
    if bytes.starts_with(PNG_SIGNATURE) {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(JPEG_SIGNATURE) {
        Some(ImageFormat::Jpeg)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_of(width: u32, height: u32, pixel: impl Fn(u32, u32) -> u8) -> Vec<u8> {
        let image = image::GrayImage::from_fn(width, height, |x, y| image::Luma([pixel(x, y)]));
        let mut bytes = Vec::new();
        image.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).unwrap();
        bytes
    }

    #[test]
    fn rejections_name_image() {
        let blank = png_of(64, 64, |_, _| 255);
        let mut truncated = blank.clone();
        truncated.truncate(40);
        let cases: [(&[u8], &str); 5] = [
            (b"", "the image is empty; send a PNG or JPEG file"),
            (b"GIF89a....", "the image is neither PNG nor JPEG; send a PNG or JPEG file"),
            (&truncated, "the image file is damaged or cut off; send it again"),
            (b"\xff\xd8\xff\xe0garbage", "the image file is damaged or cut off; send it again"),
            (&blank, "no QR code was found in the image; send a sharper picture with the whole code and its white border"),
        ];
        for (bytes, message) in cases {
            let error = decode_qr_text(bytes).unwrap_err();
            assert_eq!(error.field, "image");
            assert_eq!(error.message, message);
        }
    }

    #[test]
    fn oversized_images_state_the_limits() {
        let too_many_bytes = vec![0u8; MAX_IMAGE_BYTES + 1];
        let error = decode_qr_text(&too_many_bytes).unwrap_err();
        assert_eq!(error.message, format!("the image is {} bytes; at most 716800 are accepted, so crop or shrink it", MAX_IMAGE_BYTES + 1));

        // A blank 4097 x 1025 PNG compresses to a few KiB but has too many pixels.
        let wide = png_of(4097, 1025, |_, _| 255);
        assert!(wide.len() < MAX_IMAGE_BYTES);
        let error = decode_qr_text(&wide).unwrap_err();
        assert_eq!(error.message, "the image is 4097 x 1025 = 4199425 pixels; at most 4194304 are accepted, so crop or shrink it");
    }

    #[test]
    fn deep_images_hit_the_allocation_limit() {
        // 16-bit RGBA at the pixel limit: 8 bytes per pixel, 32 MiB decoded.
        let image = image::ImageBuffer::<image::Rgba<u16>, Vec<u16>>::from_pixel(2048, 2048, image::Rgba([u16::MAX; 4]));
        let mut bytes = Vec::new();
        image.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).unwrap();
        assert!(bytes.len() < MAX_IMAGE_BYTES);
        let error = decode_qr_text(&bytes).unwrap_err();
        assert_eq!(error.field, "image");
        assert_eq!(error.message, "the image needs more than 20971520 bytes of memory to decode; send a smaller or 8-bit image");
    }
}
