//! What a file is, from its bytes: an image (recognised by its signature, measured from
//! its header) or anything else (the sender's type, if it is one); and thumbnails, made
//! under limits so that no image can take more memory than a reasonable photo.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

use super::FilesError;

/// The most pixels an image may have: 50 megapixels, a large camera's photo.
pub const MAX_IMAGE_PIXELS: u64 = 50_000_000;
/// Memory decoding one image may take.
const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;

/// What a file is.
pub struct Kind {
    pub mime: String,
    /// Width and height, for an image.
    pub size: Option<(u32, u32)>,
}

/// Looks at `content`: an image of a format the server reads is measured (and refused
/// when it claims more than [`MAX_IMAGE_PIXELS`]); anything else keeps the type the
/// sender declared if it looks like one, else `application/octet-stream`.
pub fn probe(content: &[u8], declared: Option<&str>) -> Result<Kind, FilesError> {
    if let Some(format) = image_format(content) {
        let reader = ImageReader::with_format(Cursor::new(content), format);
        let (width, height) = reader
            .into_dimensions()
            .map_err(|error| FilesError::BadImage(error.to_string()))?;
        if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
            return Err(FilesError::ImageTooLarge {
                width,
                height,
                max: MAX_IMAGE_PIXELS,
            });
        }
        return Ok(Kind {
            mime: format.to_mime_type().to_owned(),
            size: Some((width, height)),
        });
    }
    Ok(Kind {
        mime: declared
            .and_then(plausible_type)
            .unwrap_or("application/octet-stream")
            .to_owned(),
        size: None,
    })
}

/// A PNG of `content` (an image) scaled to fit in `side`×`side`.
pub fn thumbnail(content: &[u8], side: u32) -> Result<Vec<u8>, FilesError> {
    let bad = |error: image::ImageError| FilesError::BadImage(error.to_string());
    let format = image_format(content).ok_or(FilesError::NotAnImage)?;
    let mut reader = ImageReader::with_format(Cursor::new(content), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let image = reader.decode().map_err(bad)?;
    let mut png = Vec::new();
    image
        .thumbnail(side, side)
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(bad)?;
    Ok(png)
}

/// The format of an image the server reads and shows inline.
fn image_format(content: &[u8]) -> Option<ImageFormat> {
    image::guess_format(content).ok().filter(|format| {
        matches!(
            format,
            ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP
        )
    })
}

/// `declared` if it is a plain `type/subtype` (parameters dropped), which is all a
/// download's Content-Type is given.
fn plausible_type(declared: &str) -> Option<&str> {
    let essence = declared.split(';').next()?.trim();
    let (kind, subtype) = essence.split_once('/')?;
    let token = |part: &str| {
        !part.is_empty()
            && part.len() <= 64
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    (token(kind) && token(subtype)).then_some(essence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::new(width, height);
        let mut bytes = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    #[test]
    fn images_are_known_by_their_bytes_not_their_claim() {
        let kind = probe(&png(3, 2), Some("text/html")).unwrap();
        assert_eq!((kind.mime.as_str(), kind.size), ("image/png", Some((3, 2))));
        let kind = probe(b"<html>", Some("image/png")).unwrap();
        assert_eq!((kind.mime.as_str(), kind.size), ("image/png", None));
        let kind = probe(b"%PDF-1.7", Some("application/pdf; x=1")).unwrap();
        assert_eq!(kind.mime, "application/pdf");
        let kind = probe(b"plain", Some("not a type")).unwrap();
        assert_eq!(kind.mime, "application/octet-stream");
    }

    #[test]
    fn a_header_claiming_a_huge_picture_is_refused_before_decoding() {
        // A valid PNG header saying 60000×60000 (its checksum made to match), with
        // the pixel data of one pixel.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&60_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&60_000u32.to_be_bytes());
        let crc = crc32fast::hash(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        match probe(&bomb, None) {
            Err(FilesError::ImageTooLarge { width, height, .. }) => {
                assert_eq!((width, height), (60_000, 60_000))
            }
            other => panic!("expected a refusal, got {:?}", other.map(|k| k.size)),
        }
    }

    #[test]
    fn thumbnails_fit_the_side() {
        let thumb = thumbnail(&png(1000, 500), 400).unwrap();
        let kind = probe(&thumb, None).unwrap();
        assert_eq!(kind.size, Some((400, 200)));
    }
}
