//! What an upload is, judged from its first bytes only: never from the
//! client's Content-Type or file name.
//!
//! * Raster images, video and audio keep their sniffed MIME type and may be
//!   shown inline.
//! * Executables, HTML, XML (SVG can carry scripts) and shell scripts are
//!   stored as `application/octet-stream`: a browser downloads them instead
//!   of rendering them.
//! * Anything else is a file with its sniffed type (or octet-stream), and is
//!   always served as an attachment.

use chat_domain::MessageKind;
use infer::MatcherType;

/// How many leading bytes are sniffed (enough for a JPEG's EXIF block before
/// its frame header, where the dimensions are).
pub const SNIFF_BYTES: usize = 64 * 1024;

/// The type stored for content a browser must never render.
pub const OPAQUE: &str = "application/octet-stream";

/// The verdict on an upload's first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    /// The kind the content is (`Voice` is never sniffed: it is audio the
    /// client asked to be a voice message).
    pub kind: MessageKind,
    pub mime: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// Sniff `head` (the first up to [`SNIFF_BYTES`] of the upload).
pub fn sniff(head: &[u8]) -> Sniffed {
    let Some(t) = infer::get(head) else {
        return file(OPAQUE);
    };
    let mime = t.mime_type();
    match t.matcher_type() {
        MatcherType::Image if is_raster(mime) => {
            let (width, height) = dimensions(mime, head).unzip();
            Sniffed {
                kind: MessageKind::Image,
                mime: mime.to_owned(),
                width,
                height,
            }
        }
        MatcherType::Video => media(MessageKind::Video, mime),
        MatcherType::Audio => media(MessageKind::Audio, mime),
        // Executables, HTML, XML, scripts (and any image type we do not
        // know to be inert) become opaque attachments.
        MatcherType::App | MatcherType::Text | MatcherType::Image => file(OPAQUE),
        _ => file(mime),
    }
}

/// Whether the content may be sent as a message of `requested` kind.
pub fn allows(sniffed: &Sniffed, requested: MessageKind) -> bool {
    match requested {
        MessageKind::Text | MessageKind::Poll | MessageKind::Location => false,
        MessageKind::File => true,
        MessageKind::Voice => sniffed.kind == MessageKind::Audio,
        k => sniffed.kind == k,
    }
}

/// Whether browsers may render this type inline.
pub fn inline(mime: &str) -> bool {
    (mime.starts_with("image/") && is_raster(mime))
        || mime.starts_with("video/")
        || mime.starts_with("audio/")
}

fn is_raster(mime: &str) -> bool {
    matches!(
        mime,
        "image/png"
            | "image/jpeg"
            | "image/gif"
            | "image/webp"
            | "image/bmp"
            | "image/avif"
            | "image/heif"
            | "image/heic"
            | "image/tiff"
            | "image/jxl"
            | "image/vnd.microsoft.icon"
            | "image/x-icon"
    )
}

fn media(kind: MessageKind, mime: &str) -> Sniffed {
    Sniffed {
        kind,
        mime: mime.to_owned(),
        width: None,
        height: None,
    }
}

fn file(mime: &str) -> Sniffed {
    media(MessageKind::File, mime)
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

/// Width and height where the header has them cheaply.
fn dimensions(mime: &str, b: &[u8]) -> Option<(u32, u32)> {
    match mime {
        // IHDR is the first chunk.
        "image/png" => Some((be32(b, 16)?, be32(b, 20)?)),
        "image/gif" => Some((le16(b, 6)?, le16(b, 8)?)),
        "image/webp" => webp(b),
        "image/jpeg" => jpeg(b),
        _ => None,
    }
}

fn webp(b: &[u8]) -> Option<(u32, u32)> {
    match b.get(12..16)? {
        b"VP8 " => Some((le16(b, 26)? & 0x3fff, le16(b, 28)? & 0x3fff)),
        b"VP8L" => {
            let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
            Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
        }
        b"VP8X" => Some((le24(b, 24)? + 1, le24(b, 27)? + 1)),
        _ => None,
    }
}

/// Walk the JPEG segments to the first start-of-frame marker.
fn jpeg(b: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xff {
            return None;
        }
        let marker = b[i + 1];
        if marker == 0xff {
            i += 1;
            continue;
        }
        let len = be16(b, i + 2)? as usize;
        let sof = matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
        if sof {
            return Some((be16(b, i + 7)?, be16(b, i + 5)?));
        }
        i += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&[8, 6, 0, 0, 0]);
        b
    }

    #[test]
    fn a_png_is_an_image_with_its_dimensions_whatever_its_name() {
        let s = sniff(&png(640, 480));
        assert_eq!(s.kind, MessageKind::Image);
        assert_eq!(s.mime, "image/png");
        assert_eq!((s.width, s.height), (Some(640), Some(480)));
        assert!(allows(&s, MessageKind::Image));
        assert!(allows(&s, MessageKind::File));
        assert!(!allows(&s, MessageKind::Video));
    }

    #[test]
    fn jpeg_and_gif_dimensions_are_read_from_their_headers() {
        let mut jpg = vec![0xff, 0xd8, 0xff, 0xe0, 0, 16];
        jpg.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        jpg.extend_from_slice(&[0xff, 0xc0, 0, 17, 8, 0x01, 0xe0, 0x02, 0x80, 3]);
        let s = sniff(&jpg);
        assert_eq!(s.mime, "image/jpeg");
        assert_eq!((s.width, s.height), (Some(640), Some(480)));
        let gif = b"GIF89a\x20\x00\x10\x00";
        assert_eq!(dimensions("image/gif", gif), Some((32, 16)));
    }

    #[test]
    fn scripts_html_and_executables_become_opaque_files() {
        for bytes in [
            &b"#!/bin/sh\nrm -rf /\n"[..],
            b"<!DOCTYPE html><html><script>alert(1)</script>",
            b"<?xml version=\"1.0\"?><svg onload=\"alert(1)\"/>",
            b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0",
            b"just some text",
        ] {
            let s = sniff(bytes);
            assert_eq!(s.kind, MessageKind::File, "{bytes:?}");
            assert_eq!(s.mime, OPAQUE, "{bytes:?}");
            assert!(!allows(&s, MessageKind::Image));
            assert!(!inline(&s.mime));
        }
    }

    #[test]
    fn audio_may_be_a_voice_message() {
        let ogg = b"OggS\0\x02\0\0\0\0\0\0\0\0";
        let s = sniff(ogg);
        assert_eq!(s.kind, MessageKind::Audio);
        assert!(allows(&s, MessageKind::Voice));
        assert!(inline(&s.mime));
    }
}
