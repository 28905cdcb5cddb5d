//! Wall protocol messages: any bytes give a message (and how many bytes it
//! took, within the input) or an error, never a panic; so does the header
//! check on the first 11 bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urbis_wall::sync::message::{HEADER_LEN, decode, decode_header, encode};

fuzz_target!(|data: &[u8]| {
    if let Some(header) = data.first_chunk::<HEADER_LEN>() {
        let _ = decode_header(header, "fuzz");
    }
    if let Ok((msg, used)) = decode(data, "fuzz") {
        assert!(used >= HEADER_LEN && used <= data.len(), "{used} of {} bytes", data.len());
        // What was read encodes again (when JSON can carry it) and reads back the same.
        if let Ok(bytes) = encode(&msg) {
            let (again, n) = decode(&bytes, "fuzz").expect("our own message reads back");
            assert_eq!(n, bytes.len());
            assert_eq!(again, msg);
        }
    }
});
