//! ZPL for Zebra printers: one `^XA … ^XZ` label per code, the QR drawn by the
//! printer itself (`^BQ`) from the same upper-case URL.

use super::font::MM_PER_PT;
use super::layout::LabelContent;
use super::qr::{self, QrError, QUIET_ZONE};
use super::templates::Template;

/// Field data with `^FH` hex escapes for the characters ZPL reserves.
fn field(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '^' => out.push_str("_5E"),
            '~' => out.push_str("_7E"),
            '_' => out.push_str("_5F"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Labels for `template`'s label size at `dots_per_mm` (8 = 203 dpi, 12 = 300
/// dpi), no text under `min_pt` points.
pub fn render(
    template: &Template,
    labels: &[LabelContent],
    dots_per_mm: u32,
    cta: &str,
    min_pt: f32,
) -> Result<String, QrError> {
    let d = dots_per_mm.clamp(6, 24) as f32;
    let (w, h) = (
        (template.label_w * d).round() as u32,
        (template.label_h * d).round() as u32,
    );
    let pad = (1.5 * d) as u32;
    let mut out = String::new();
    for label in labels {
        let (_, modules) = qr::modules(&label.url)?;
        let total = (modules + 2 * QUIET_ZONE) as u32;
        let wide = w as f32 >= h as f32 * 1.25;
        let room = if wide {
            h - 2 * pad
        } else {
            (w - 2 * pad).min(h * 7 / 10)
        };
        let mag = (room / total).clamp(1, 10);
        let quiet = QUIET_ZONE as u32 * mag;
        let side = total * mag;
        out.push_str("^XA\n^CI28\n");
        out.push_str(&format!("^PW{w}\n^LL{h}\n^LH0,0\n"));
        let (qx, qy) = if wide {
            (pad, (h - side) / 2)
        } else {
            ((w - side) / 2, pad)
        };
        // ^BQ draws the symbol without its quiet zone: leave it around.
        out.push_str(&format!(
            "^FO{},{}^BQN,2,{mag}^FDMA,{}^FS\n",
            qx + quiet,
            qy + quiet,
            field(&label.url)
        ));
        let (tx, ty, tw) = if wide {
            (qx + side, pad, w.saturating_sub(qx + side + pad))
        } else {
            (pad, qy + side, w - 2 * pad)
        };
        let big = ((2.6 * d) as u32).max(14);
        // No text under the minimum size: a ^A0 height is the cell, about the point size.
        let floor = min_pt.clamp(4.0, 10.0) * MM_PER_PT;
        let small = ((2.0f32.max(floor) * d) as u32).max(12);
        let mut y = ty;
        let mut line = |text: &str, size: u32, lines: u32, out: &mut String| {
            if tw > size && y + size * lines <= h {
                out.push_str(&format!(
                    "^FO{tx},{y}^A0N,{size},{size}^FB{tw},{lines},0,L^FH^FD{}^FS\n",
                    field(text)
                ));
                y += size * lines + size / 3;
            }
        };
        line(&label.title, big, 2, &mut out);
        if let Some(details) = &label.details {
            line(details, small, 1, &mut out);
        }
        line(&label.code, big, 1, &mut out);
        line(cta, small, 2, &mut out);
        out.push_str("^XZ\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_label_per_code_with_the_same_url() {
        let t = crate::labels::templates::find("roll-58x40").unwrap();
        let labels = vec![LabelContent {
            url: "HTTPS://QR.EXAMPLE.RU/Q/7K3M9Q2A".into(),
            code: "7K3M-9Q2A".into(),
            title: "Насос ^FS~ опасный_текст".into(),
            details: None,
        }];
        let zpl = render(&t, &labels, 8, "Сканируйте", 6.0).unwrap();
        assert_eq!(zpl.matches("^XA").count(), 1);
        assert!(zpl.contains("^PW464") && zpl.contains("^LL320"));
        assert!(zpl.contains("^FDMA,HTTPS://QR.EXAMPLE.RU/Q/7K3M9Q2A^FS"));
        assert!(zpl.contains("Насос _5EFS_7E опасный_5Fтекст"), "{zpl}");
        assert!(zpl.contains("^CI28"));
    }
}
