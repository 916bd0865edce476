//! What a file is, by its first bytes: the content types usvc accepts for documents and
//! avatars. A declared type is never trusted; only these magic numbers are.

pub const JPEG: &str = "image/jpeg";
pub const PNG: &str = "image/png";
pub const PDF: &str = "application/pdf";

/// The content type the leading bytes `head` announce, among JPEG, PNG and PDF.
pub fn content_type(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(JPEG)
    } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(PNG)
    } else if head.starts_with(b"%PDF-") {
        Some(PDF)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_accepted_type_is_known_by_its_magic_bytes() {
        assert_eq!(content_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Some(JPEG));
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(PNG));
        assert_eq!(content_type(b"%PDF-1.7\n%"), Some(PDF));
    }

    #[test]
    fn anything_else_is_unknown() {
        for head in [
            &b""[..],
            b"\xFF\xD8",    // a JPEG's start, cut short
            b"\x89PNG\r\n", // a PNG's signature, cut short
            b"%PDF",        // no dash
            b"GIF89a",
            b"<html>%PDF-",
            b"PK\x03\x04",
            b"\x00\xFF\xD8\xFF", // the magic number, but not at the start
        ] {
            assert_eq!(content_type(head), None, "{head:?}");
        }
    }
}
