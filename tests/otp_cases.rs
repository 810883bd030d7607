//! Every otpauth case and RFC vector in `tests/fixtures/`, checked at the
//! fixed times the fixtures give.

use serde_json::Value;
use sharedmfa::otp::{self, Algorithm, Encoder, OtpParams, Seed};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn otpauth_cases_parse_and_produce_expected_codes() {
    let cases = fixture("otpauth-uris.json");
    let cases = cases["cases"].as_array().unwrap();
    assert!(cases.len() >= 19, "fixture has {} cases", cases.len());

    for case in cases {
        let name = case["name"].as_str().unwrap();
        let uri = case["uri"].as_str().unwrap();

        if let Some(field) = case.get("expect_error_field") {
            let err = otp::parse_otpauth_uri(uri).expect_err(name);
            assert_eq!(err.field, field.as_str().unwrap(), "case {name:?}: {}", err.message);
            assert!(!err.message.is_empty(), "case {name:?}");
            continue;
        }

        let parsed = otp::parse_otpauth_uri(uri).unwrap_or_else(|e| panic!("case {name:?}: {e}"));
        let expect = &case["expect"];
        assert_eq!(parsed.params.algorithm.as_str(), expect["algorithm"].as_str().unwrap(), "case {name:?}");
        assert_eq!(u64::from(parsed.params.digits), expect["digits"].as_u64().unwrap(), "case {name:?}");
        assert_eq!(parsed.params.period, expect["period"].as_u64().unwrap(), "case {name:?}");
        assert_eq!(parsed.issuer.as_deref(), expect.get("issuer").and_then(Value::as_str), "case {name:?}");
        assert_eq!(parsed.account, expect["account"].as_str().unwrap(), "case {name:?}");

        for (time, code) in expect["codes_at"].as_object().unwrap() {
            let time: u64 = time.parse().unwrap();
            let actual = otp::code_at(&parsed.seed, parsed.params, time);
            assert_eq!(actual, code.as_str().unwrap(), "case {name:?} at {time}");
        }
    }
}

#[test]
fn rfc6238_vectors_match() {
    let vectors = fixture("rfc-vectors.json");
    let vectors = vectors["rfc6238"].as_array().unwrap();
    assert_eq!(vectors.len(), 18);

    for vector in vectors {
        let seed = Seed::from_base32(vector["secret_base32"].as_str().unwrap(), "secret").unwrap();
        let params = OtpParams {
            algorithm: Algorithm::parse(vector["algorithm"].as_str().unwrap(), "algorithm").unwrap(),
            digits: vector["digits"].as_u64().unwrap() as u8,
            period: vector["period"].as_u64().unwrap(),
            encoder: Encoder::Decimal,
        };
        let time = vector["time"].as_u64().unwrap();
        assert_eq!(otp::code_at(&seed, params, time), vector["code"].as_str().unwrap(), "{vector}");
    }
}

/// RFC 4226 HOTP values are TOTP values at time = counter * period, which
/// checks the truncation for counters 0-9.
#[test]
fn rfc4226_vectors_match_as_totp_steps() {
    let vectors = fixture("rfc-vectors.json");
    let vectors = vectors["rfc4226"].as_array().unwrap();
    assert_eq!(vectors.len(), 10);

    for vector in vectors {
        let seed = Seed::from_base32(vector["secret_base32"].as_str().unwrap(), "secret").unwrap();
        let params = OtpParams { digits: vector["digits"].as_u64().unwrap() as u8, ..OtpParams::default() };
        let time = vector["counter"].as_u64().unwrap() * params.period;
        assert_eq!(otp::code_at(&seed, params, time), vector["code"].as_str().unwrap(), "{vector}");
    }
}

/// The codes of seed JBSWY3DPEHPK3PXP (SHA1, 6 digits, 30 s) at fixed
/// times, from the fixture's first case.
const HELLO_CODES: [(u64, &str); 6] = [
    (59, "996554"),
    (1_111_111_109, "071271"),
    (1_234_567_890, "742275"),
    (2_000_000_000, "890699"),
    (1_700_000_000, "324550"),
    (1_765_000_015, "934016"),
];

/// Spellings of the same seed that real authenticators and services
/// produce must give the same codes as the plain form.
#[test]
fn uri_spellings_give_identical_codes() {
    let uris = [
        "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP%3D%3D%3D%3D",
        "otpauth://totp/A:b?secret=jbswy3dpehpk3pxp%3d%3d%3d%3d",
        "otpauth://totp/A:b?secret=JBSW+Y3DP+EHPK+3PXP",
        "otpauth://totp/A:b?secret=jbsw-y3dp-ehpk-3pxp",
        "otpauth://totp/A%3ab?secret=JBSWY3DPEHPK3PXP&algorithm=sha1",
        "OTPAUTH://TOTP/A:b?SECRET=JBSWY3DPEHPK3PXP&Period=30&Digits=6",
        "otpauth://totp/%E6%97%A5%E6%9C%AC:b#1:x?secret=JBSWY3DPEHPK3PXP&issuer=Other&foo=bar",
    ];
    for uri in uris {
        let parsed = otp::parse_otpauth_uri(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        for (time, code) in HELLO_CODES {
            assert_eq!(otp::code_at(&parsed.seed, parsed.params, time), code, "{uri} at {time}");
        }
    }
}

/// RFC 4226 appendix D through the HOTP path the API uses, for each
/// counter, whatever period the seed was stored with.
#[test]
fn rfc4226_vectors_match_as_hotp() {
    let vectors = fixture("rfc-vectors.json");
    for vector in vectors["rfc4226"].as_array().unwrap() {
        let seed = Seed::from_base32(vector["secret_base32"].as_str().unwrap(), "secret").unwrap();
        let counter = vector["counter"].as_u64().unwrap();
        for period in [1, 30, 60] {
            let params = OtpParams { digits: vector["digits"].as_u64().unwrap() as u8, period, ..OtpParams::default() };
            assert_eq!(otp::hotp_code(&seed, params, counter), vector["code"].as_str().unwrap(), "{vector} period {period}");
        }
    }
}

/// An hotp URI's counter selects the RFC 4226 code.
#[test]
fn hotp_uri_codes_follow_counter() {
    let uri = "otpauth://hotp/VPN:ops?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=7";
    let parsed = otp::parse_otpauth_uri(uri).unwrap();
    let otp::OtpType::Hotp { counter } = parsed.otp_type else {
        panic!("expected hotp, got {:?}", parsed.otp_type);
    };
    assert_eq!(counter, 7);
    assert_eq!(otp::hotp_code(&parsed.seed, parsed.params, counter), "162583");
}
