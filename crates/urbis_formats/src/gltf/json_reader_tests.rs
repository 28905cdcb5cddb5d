//! Tests of the glTF JSON reader: strings and escapes, numbers against
//! Rust's parser, integer limits, error offsets and paths, skipping,
//! nesting and memory bounds.

use super::*;

fn err_of<T: std::fmt::Debug>(r: Result<T>) -> JsonError {
    *r.expect_err("an error")
}

#[test]
fn strings_keys_and_escapes() {
    let text = r#"{"a\u0062c": "x\"y\\z\u00e9\ud83d\ude00", "plain": "héllo"}"#;
    let mut r = Reader::new(text.as_bytes());
    let mut seen = Vec::new();
    r.object(|r, key| {
        seen.push((String::from_utf8(key.to_vec()).expect("utf8"), r.string()?.into_owned()));
        Ok(())
    })
    .expect("object");
    r.end().expect("end");
    assert_eq!(seen, [("abc".into(), "x\"y\\zé😀".into()), ("plain".to_string(), "héllo".to_string())]);
}

#[test]
fn numbers_match_the_standard_parser() {
    // The fast path and the fallback against Rust's correctly rounded parser.
    let mut cases: Vec<String> = ["0", "-0", "12.5", "0.25", "-3.14159", "1e3", "2.5E-3", "123456789012345", "0.1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let digits = (x % 17) as usize + 1;
        let mantissa = (x >> 8) % 10u64.pow(digits.min(17) as u32 - 1).max(1);
        let point = (x >> 3) as usize % (digits + 1);
        let s = format!("{mantissa:0digits$}");
        let s = if point == 0 || point >= s.len() { s } else { format!("{}.{}", &s[..point], &s[point..]) };
        let s = s.trim_start_matches('0').to_string();
        let s = if s.is_empty() || s.starts_with('.') { format!("0{s}") } else { s };
        cases.push(if x & 1 == 1 { format!("-{s}") } else { s });
    }
    for c in cases {
        let want: f64 = c.parse().expect("std parse");
        let got = Reader::new(c.as_bytes()).f64().unwrap_or_else(|e| panic!("{c}: {e}"));
        assert_eq!(got.to_bits(), want.to_bits(), "{c}");
    }
}

#[test]
fn integers_read_alike_whatever_follows() {
    for v in [0u64, 7, 10, 99, 5126, 34962, 1_234_567, 12_345_678, 4_294_967_295, u64::MAX / 3] {
        for tail in ["", ",", "}", "]   ", ",\"a\":1", " x"] {
            let text = format!("{v}{tail}");
            let mut r = Reader::new(text.as_bytes());
            assert_eq!(r.u64().expect(&text), v, "{text}");
            assert_eq!(r.offset(), v.to_string().len(), "{text}");
        }
    }
    // Every length, followed by every byte that is not part of a number.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..50_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let v = (x >> 20) % 10u64.pow((x % 9) as u32 + 1);
        let follower = (x >> 8) as u8;
        if follower.is_ascii_digit() || matches!(follower, b'.' | b'e' | b'E') {
            continue;
        }
        let mut text = v.to_string().into_bytes();
        text.push(follower);
        text.extend_from_slice(b"\xff\xfa99999");
        let mut r = Reader::new(&text);
        assert_eq!(r.u64().expect("integer"), v, "{text:?}");
    }
    for bad in ["1.5,", "2e3,", "00,", "-1,"] {
        assert!(Reader::new(bad.as_bytes()).u64().is_err(), "{bad}");
    }
}

#[test]
fn integers_refuse_sign_fraction_and_overflow() {
    assert_eq!(Reader::new(b"18446744073709551615").u64().expect("max"), u64::MAX);
    assert!(err_of(Reader::new(b"18446744073709551616").u64()).msg.contains("too large"));
    assert!(err_of(Reader::new(b"-1").u64()).msg.contains("negative or fractional"));
    assert!(err_of(Reader::new(b"1.5").u64()).msg.contains("negative or fractional"));
    assert!(err_of(Reader::new(b"012").u64()).msg.contains("number"));
    assert!(err_of(Reader::new(b"4294967296").u32()).msg.contains("32 bits"));
}

#[test]
fn errors_name_offset_and_path() {
    let text = br#"{"a": [1, {"b": tru}]}"#;
    let mut r = Reader::new(text);
    let e = err_of(r.object(|r, key| {
        assert_eq!(key, b"a");
        r.array(|r, _| if r.peek() == Some(b'{') { r.object(|r, _| r.bool().map(|_| ())) } else { r.u64().map(|_| ()) })
    }));
    assert_eq!(e.path, "/a/1/b");
    assert_eq!(e.offset, 16, "{e}");
    assert!(e.to_string().contains("at byte 16, `/a/1/b`"), "{e}");
}

#[test]
fn skipping_checks_structure_and_depth() {
    let ok = br#"{"x": [1, {"y": "]}\"["}, [[], {}], -2.5e3, true, null], "z": 1}"#;
    Reader::new(ok).skip().expect("skip");
    for (bad, what) in [
        (&br#"[1, 2"#[..], "unterminated"),
        (br#"{"a": [1, 2}"#, "mismatched"),
        (br#"["abc]"#, "unterminated string"),
        (b"[\"a\x01\"]", "control character"),
        (b"tru", "invalid literal"),
    ] {
        let e = err_of(Reader::new(bad).skip());
        assert!(e.msg.contains(what), "{}: {e}", String::from_utf8_lossy(bad));
    }
    let deep = format!("{{\"extras\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let e = err_of(Reader::new(deep.as_bytes()).skip());
    assert!(e.msg.contains("nested deeper than 128"), "{e}");
    assert!(e.offset < 200, "refused at the limit, not at the end: {e}");
}

#[test]
fn skipped_strings_end_at_their_closing_quote() {
    // Short and long (past one sixteen-byte block), escapes anywhere,
    // including an escaped quote or backslash right at a block's edge.
    for text in [
        r#""""#,
        r#""name""#,
        r#""positions of building 2999""#,
        r#""a\"b""#,
        r#""0123456789abcd\"ef""#,
        r#""0123456789abcde\\""#,
        r#""0123456789abcdef0123456789\u00e9\n\"""#,
        "\"été, 建筑\"",
    ] {
        let doc = format!("{text} ,1");
        let mut r = Reader::new(doc.as_bytes());
        r.skip().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(r.offset(), text.len(), "{text}");
    }
    for (bad, what, at) in [
        (&b"\"0123456789abcdef0123\x01\""[..], "control character", 21),
        (b"\"0123456789abcdef0123", "unterminated", 21),
        (b"\"ends in an escape\\", "unterminated", 19),
    ] {
        let e = err_of(Reader::new(bad).skip());
        assert!(e.msg.contains(what) && e.offset == at, "{}: {e}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn arrays_of_empty_objects_are_bounded_by_the_document() {
    #[derive(Debug, Default)]
    struct Big {
        _payload: [u64; 32],
    }
    let n = 100_000;
    let text = format!("[{}{{}}]", "{},".repeat(n - 1));
    let mut r = Reader::new(text.as_bytes());
    let mut v: Vec<Big> = Vec::new();
    let e = err_of(r.fill_each(&mut v, |r, _| r.skip()));
    assert!(e.msg.contains("64× the document"), "{e}");
    let small = format!("[{}{{}}]", "{},".repeat(99));
    Reader::new(small.as_bytes()).fill_each(&mut v, |r, _| r.skip()).expect("small");
    assert_eq!(v.len(), 100);
}

#[test]
fn trailing_and_truncated_documents() {
    let mut r = Reader::new(b"{} x");
    r.object(|r, _| r.skip()).expect("object");
    assert!(err_of(r.end()).msg.contains("trailing"));
    let e = err_of(Reader::new(br#"{"a": "#).object(|r, _| r.skip()));
    assert!(e.msg.contains("end of the input"), "{e}");
}

#[test]
fn serde_spans_point_into_the_document() {
    let text = b"{\"m\":\n  {\"a\": [1, 2,]}}";
    let mut r = Reader::new(text);
    let e = err_of(r.object(|r, _| r.serde::<serde_json::Value>().map(|_| ())));
    assert_eq!(e.path, "/m");
    assert_eq!(&text[e.offset..e.offset + 1], b"]", "{e}");
}
