//! QR images of a code's URL, as SVG (vector, for print) and PNG.
//!
//! The URL is upper case so the encoder can use the alphanumeric mode; error
//! correction M survives a scratched sticker while keeping the version small.

use qrcode::{Color, EcLevel, QrCode};

/// Modules of white border around the symbol, as the standard asks.
pub const QUIET_ZONE: usize = 4;

#[derive(Debug, thiserror::Error)]
#[error("cannot encode this URL as a QR code: {0}")]
pub struct QrError(String);

pub fn encode(data: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| QrError(e.to_string()))
}

/// The QR version (1–40) the data needs at level M.
pub fn version(data: &str) -> Result<i16, QrError> {
    match encode(data)?.version() {
        qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => Ok(v),
    }
}

/// Dark modules as (x, y), quiet zone not included, and the symbol's width.
pub fn modules(data: &str) -> Result<(Vec<(usize, usize)>, usize), QrError> {
    let code = encode(data)?;
    let width = code.width();
    let colors = code.to_colors();
    let dark = colors
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == Color::Dark)
        .map(|(i, _)| (i % width, i / width))
        .collect();
    Ok((dark, width))
}

/// An SVG in module units with the quiet zone; one path, crisp at any size.
pub fn svg(data: &str) -> Result<String, QrError> {
    let (dark, width) = modules(data)?;
    let size = width + 2 * QUIET_ZONE;
    let mut path = String::with_capacity(dark.len() * 12);
    for (x, y) in dark {
        path.push_str(&format!("M{} {}h1v1h-1z", x + QUIET_ZONE, y + QUIET_ZONE));
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\">\
<rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

/// A greyscale PNG, `scale` pixels per module, with the quiet zone. With a
/// `dpi`, the file says so, and prints at the intended size.
pub fn png(data: &str, scale: u32, dpi: Option<u32>) -> Result<Vec<u8>, QrError> {
    let (dark, width) = modules(data)?;
    let scale = scale.max(1) as usize;
    let side = (width + 2 * QUIET_ZONE) * scale;
    let mut pixels = vec![255u8; side * side];
    for (x, y) in dark {
        let (px, py) = ((x + QUIET_ZONE) * scale, (y + QUIET_ZONE) * scale);
        for row in py..py + scale {
            pixels[row * side + px..row * side + px + scale].fill(0);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    if let Some(dpi) = dpi {
        let per_metre = (dpi as f64 / 0.0254).round() as u32;
        encoder.set_pixel_dims(Some(png::PixelDimensions {
            xppu: per_metre,
            yppu: per_metre,
            unit: png::Unit::Meter,
        }));
    }
    let err = |e: png::EncodingError| QrError(e.to_string());
    let mut writer = encoder.write_header().map_err(err)?;
    writer.write_image_data(&pixels).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}

/// Pixels per module so that the whole symbol (quiet zone included) is about
/// `side_mm` wide at `dpi`.
pub fn scale_for(data: &str, dpi: u32, side_mm: f32) -> Result<u32, QrError> {
    let (_, width) = modules(data)?;
    let px = dpi as f32 * side_mm / 25.4;
    Ok(((px / (width + 2 * QUIET_ZONE) as f32).round() as u32).clamp(1, 100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_url_shape_fits_version_3() {
        // A long-ish public host still fits: 8-char code, upper case.
        for url in [
            "HTTP://127.0.0.1:8080/Q/7K3M9Q2A",
            "HTTPS://QR.EXAMPLE.RU/Q/7K3M9Q2A",
            "HTTPS://SERVICE.FACILITY-COMPANY.RU/Q/7K3M9Q2A",
        ] {
            let v = version(url).unwrap();
            assert!(v <= 3, "{url} needs version {v}");
        }
        // Lower case would force byte mode and a bigger symbol.
        assert!(version("https://service.facility-company.ru/q/7k3m9q2a").unwrap() > 3);
    }

    #[test]
    fn svg_has_quiet_zone_and_one_path() {
        let s = svg("HTTPS://QR.EXAMPLE.RU/Q/7K3M9Q2A").unwrap();
        let side = version("HTTPS://QR.EXAMPLE.RU/Q/7K3M9Q2A").unwrap() as usize * 4 + 17 + 8;
        assert!(s.contains(&format!("viewBox=\"0 0 {side} {side}\"")));
        assert_eq!(s.matches("<path").count(), 1);
    }
}
