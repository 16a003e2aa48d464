//! The photo pipeline: take the real type from the bytes (JPEG, PNG, WebP,
//! HEIC/HEIF), refuse what we cannot or should not decode, shrink to the
//! longest side, apply the orientation, and re-encode as JPEG so that no
//! metadata (GPS, camera serial) survives. Processed files are stored by their
//! SHA-256.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// What the bytes say a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Webp,
    Heic,
    Gif,
    Unknown,
}

pub fn sniff(bytes: &[u8]) -> Kind {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Kind::Jpeg,
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Kind::Png,
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Kind::Webp,
        [b'G', b'I', b'F', b'8', ..] => Kind::Gif,
        [_, _, _, _, b'f', b't', b'y', b'p', brand @ ..] if brand.len() >= 4 => match &brand[..4] {
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1"
            | b"avif" => Kind::Heic,
            _ => Kind::Unknown,
        },
        _ => Kind::Unknown,
    }
}

#[derive(Debug, Clone, Copy)]
pub struct MediaLimits {
    /// Largest accepted file before processing.
    pub max_file_bytes: usize,
    /// Largest accepted width × height, checked before decoding.
    pub max_pixels: u64,
    /// Longest side of the stored photo.
    pub max_side: u32,
}

impl Default for MediaLimits {
    fn default() -> Self {
        MediaLimits {
            max_file_bytes: 15 * 1024 * 1024,
            max_pixels: 40_000_000,
            max_side: 2048,
        }
    }
}

/// Why a photo was refused; each says what the person can do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("the file is larger than {0} MB")]
    TooLarge(usize),
    #[error("the image has more than {0} megapixels")]
    TooManyPixels(u64),
    #[error("this HEIC/HEIF photo cannot be read")]
    Heic,
    #[error("GIF files are not accepted")]
    Gif,
    #[error("this is not a JPEG, PNG, WebP or HEIC image")]
    NotAnImage,
    #[error("the image is damaged and cannot be read")]
    Corrupt,
}

/// A photo ready to store and send.
#[derive(Debug, Clone)]
pub struct Processed {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub sha256: String,
}

/// Decodes, orients, shrinks and re-encodes one photo. CPU-bound: call it
/// from a blocking thread.
pub fn process(bytes: &[u8], limits: &MediaLimits) -> Result<Processed, MediaError> {
    if bytes.len() > limits.max_file_bytes {
        return Err(MediaError::TooLarge(limits.max_file_bytes / (1024 * 1024)));
    }
    let format = match sniff(bytes) {
        Kind::Jpeg => ImageFormat::Jpeg,
        Kind::Png => ImageFormat::Png,
        Kind::Webp => ImageFormat::WebP,
        Kind::Heic => return finish(decode_heic(bytes, limits)?, limits),
        Kind::Gif => return Err(MediaError::Gif),
        Kind::Unknown => return Err(MediaError::NotAnImage),
    };
    let mut decoder = ImageReader::with_format(Cursor::new(bytes), format)
        .into_decoder()
        .map_err(|_| MediaError::Corrupt)?;
    // Decompression bombs are refused on the header's word, before any pixel
    // is allocated; the decoder limits back that up.
    let (w, h) = decoder.dimensions();
    if w as u64 * h as u64 > limits.max_pixels {
        return Err(MediaError::TooManyPixels(limits.max_pixels / 1_000_000));
    }
    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(w.max(1));
    decoder_limits.max_image_height = Some(h.max(1));
    decoder_limits.max_alloc = Some(limits.max_pixels * 4 + 64 * 1024 * 1024);
    decoder
        .set_limits(decoder_limits)
        .map_err(|_| MediaError::TooManyPixels(limits.max_pixels / 1_000_000))?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let img = DynamicImage::from_decoder(decoder).map_err(|_| MediaError::Corrupt)?;
    finish(Oriented { img, orientation }, limits)
}

/// Decoded pixels and the turn they still need.
struct Oriented {
    img: DynamicImage,
    orientation: image::metadata::Orientation,
}

/// HEIC/HEIF (what iPhones take): pure-Rust decoding, the size checked from
/// the container before any pixel is decoded; rotation and mirroring from the
/// file are applied by the decoder. A file it cannot read gets the message
/// that says how to send a JPEG instead.
fn decode_heic(bytes: &[u8], limits: &MediaLimits) -> Result<Oriented, MediaError> {
    let info = heic_rs::probe(bytes).map_err(|_| MediaError::Heic)?;
    if u64::from(info.width) * u64::from(info.height) > limits.max_pixels
        || u64::from(info.coded_width) * u64::from(info.coded_height) > limits.max_pixels
    {
        return Err(MediaError::TooManyPixels(limits.max_pixels / 1_000_000));
    }
    let options = heic_rs::DecodeOptions::default()
        .with_layout(heic_rs::PixelLayout::Rgb8)
        .with_max_pixels(Some(limits.max_pixels))
        .with_transforms(true)
        .with_alpha(false)
        .with_threads(Some(1));
    let decoded = heic_rs::decode(bytes, &options).map_err(|e| match e {
        heic_rs::Error::PixelLimit { .. } => {
            MediaError::TooManyPixels(limits.max_pixels / 1_000_000)
        }
        _ => MediaError::Heic,
    })?;
    let rgb = image::RgbImage::from_raw(decoded.width, decoded.height, decoded.data)
        .ok_or(MediaError::Heic)?;
    Ok(Oriented {
        img: DynamicImage::ImageRgb8(rgb),
        orientation: image::metadata::Orientation::NoTransforms,
    })
}

/// Shrinks, turns upright and re-encodes as JPEG without metadata.
fn finish(decoded: Oriented, limits: &MediaLimits) -> Result<Processed, MediaError> {
    let Oriented {
        mut img,
        orientation,
    } = decoded;
    // Shrink first (turning does not change the longest side), by area
    // averaging: integer maths, no full-size float copy, so a 12 MP photo
    // needs little more memory than its decoded pixels.
    let (w, h) = (img.width(), img.height());
    let longest = w.max(h);
    if longest > limits.max_side {
        let scale = limits.max_side as f64 / longest as f64;
        let (nw, nh) = (
            ((w as f64 * scale).round() as u32).max(1),
            ((h as f64 * scale).round() as u32).max(1),
        );
        img = img.thumbnail_exact(nw, nh);
    }
    img.apply_orientation(orientation);
    let rgb = flatten_on_white(&img);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&rgb)
        .map_err(|_| MediaError::Corrupt)?;
    Ok(Processed {
        sha256: crate::domain::codes::hex_sha256(&jpeg),
        width: rgb.width(),
        height: rgb.height(),
        jpeg,
    })
}

/// The longest side of the small copies status pages show.
pub const THUMB_SIDE: u32 = 192;

/// A small JPEG of a stored photo (which is already a JPEG we wrote).
/// CPU-bound: call it from a blocking thread.
pub fn thumbnail(jpeg: &[u8], side: u32) -> Result<Vec<u8>, MediaError> {
    let img = ImageReader::with_format(Cursor::new(jpeg), ImageFormat::Jpeg)
        .decode()
        .map_err(|_| MediaError::Corrupt)?;
    let small = img.thumbnail(side, side).to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&small)
        .map_err(|_| MediaError::Corrupt)?;
    Ok(out)
}

/// Transparent areas become white, not black, in the JPEG.
fn flatten_on_white(img: &DynamicImage) -> image::RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    let mut out = image::RgbImage::new(rgba.width(), rgba.height());
    for (o, p) in out.pixels_mut().zip(rgba.pixels()) {
        let a = p[3] as u32;
        for c in 0..3 {
            o[c] = ((p[c] as u32 * a + 255 * (255 - a)) / 255) as u8;
        }
    }
    out
}

/// Where photos live: `<data_dir>/photos/ab/abcdef….jpg`.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    pub fn new(data_dir: &Path) -> BlobStore {
        BlobStore {
            root: data_dir.join("photos"),
        }
    }

    pub fn path(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        valid.then(|| self.root.join(&sha256[..2]).join(format!("{sha256}.jpg")))
    }

    /// Where uploads wait, as files, until their turn to be processed.
    pub fn incoming(&self) -> PathBuf {
        self.root.join("incoming")
    }

    /// Removes uploads a previous run left behind (it stopped mid-request).
    pub fn clear_incoming(&self) -> std::io::Result<()> {
        match std::fs::remove_dir_all(self.incoming()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => std::fs::create_dir_all(self.incoming()),
        }
    }

    /// Writes a blob if it is not there yet (same bytes, same name).
    pub async fn put(&self, sha256: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self
            .path(sha256)
            .ok_or_else(|| std::io::Error::other("bad blob name"))?;
        write_new(&path, bytes).await
    }

    /// The small copy of a blob (`THUMB_SIDE`), made on first use and kept
    /// beside it until the photo goes.
    pub async fn thumb(&self, sha256: &str) -> std::io::Result<Vec<u8>> {
        let path = self
            .path(sha256)
            .ok_or_else(|| std::io::Error::other("bad blob name"))?
            .with_extension("t.jpg");
        if let Ok(bytes) = tokio::fs::read(&path).await {
            return Ok(bytes);
        }
        let full = self.get(sha256).await?;
        let small = tokio::task::spawn_blocking(move || thumbnail(&full, THUMB_SIDE))
            .await
            .map_err(std::io::Error::other)?
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        write_new(&path, &small).await?;
        Ok(small)
    }

    pub async fn get(&self, sha256: &str) -> std::io::Result<Vec<u8>> {
        let path = self
            .path(sha256)
            .ok_or_else(|| std::io::Error::other("bad blob name"))?;
        tokio::fs::read(path).await
    }

    pub async fn remove(&self, sha256: &str) -> std::io::Result<()> {
        match self.path(sha256) {
            Some(path) => {
                remove_if_there(&path.with_extension("t.jpg")).await?;
                remove_if_there(&path).await
            }
            None => Ok(()),
        }
    }
}

async fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Writes a file unless it is there already; write then rename, so a crash
/// never leaves half a photo under its name.
async fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if tokio::fs::try_exists(path).await.unwrap_or(false) {
        return Ok(());
    }
    let dir = path.parent().expect("blob has a parent");
    tokio::fs::create_dir_all(dir).await?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        crate::domain::codes::encode_base32(&crate::domain::codes::random_bytes::<8>())
    ));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, path).await
}

/// A stored photo (or its small copy) as a private, day-long cached JPEG.
pub fn jpeg_response(bytes: std::io::Result<Vec<u8>>) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    match bytes {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "private, max-age=86400"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        DynamicImage::new_rgba8(w, h)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Kind::Jpeg);
        assert_eq!(sniff(&png(2, 2)), Kind::Png);
        assert_eq!(sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 "), Kind::Webp);
        assert_eq!(sniff(b"GIF89a......"), Kind::Gif);
        assert_eq!(sniff(b"\x00\x00\x00\x18ftypheic\x00\x00"), Kind::Heic);
        assert_eq!(sniff(b"%PDF-1.7"), Kind::Unknown);
        assert_eq!(sniff(b""), Kind::Unknown);
    }

    #[test]
    fn big_images_are_shrunk_and_transparency_becomes_white() {
        let p = process(&png(3000, 1000), &MediaLimits::default()).unwrap();
        assert_eq!((p.width, p.height), (2048, 683));
        assert_eq!(sniff(&p.jpeg), Kind::Jpeg);
        let img = image::load_from_memory(&p.jpeg).unwrap().to_rgb8();
        assert!(img.get_pixel(10, 10)[0] > 240, "transparent → white");
    }

    #[test]
    fn refusals_are_clear() {
        let l = MediaLimits::default();
        assert_eq!(
            process(b"GIF89a\x01\x00\x01\x00", &l).unwrap_err(),
            MediaError::Gif
        );
        assert_eq!(
            process(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", &l).unwrap_err(),
            MediaError::Heic
        );
        assert_eq!(process(b"hello", &l).unwrap_err(), MediaError::NotAnImage);
        assert_eq!(
            process(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0], &l).unwrap_err(),
            MediaError::Corrupt
        );
        let small = MediaLimits {
            max_file_bytes: 10,
            ..l
        };
        assert_eq!(
            process(&png(2, 2), &small).unwrap_err(),
            MediaError::TooLarge(0)
        );
    }
}
