//! The fonts printed on labels (DejaVu, which covers Cyrillic), their metrics,
//! and text fitting: wrap, shrink, and as a last resort shorten with "…".

use std::sync::OnceLock;

use ttf_parser::Face;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FontId {
    Regular,
    Bold,
    Mono,
}

impl FontId {
    pub const ALL: [FontId; 3] = [FontId::Regular, FontId::Bold, FontId::Mono];

    pub fn font(self) -> &'static Font {
        static FONTS: OnceLock<[Font; 3]> = OnceLock::new();
        let fonts = FONTS.get_or_init(|| {
            [
                Font::load("DejaVuSansCondensed", dejavu::sans_condensed::regular()),
                Font::load("DejaVuSansCondensed-Bold", dejavu::sans_condensed::bold()),
                Font::load("DejaVuSansMono-Bold", dejavu::sans_mono::bold()),
            ]
        });
        &fonts[self as usize]
    }
}

pub struct Font {
    pub name: &'static str,
    pub data: &'static [u8],
    face: Face<'static>,
    pub units_per_em: f32,
    pub ascender: f32,
    pub descender: f32,
    pub cap_height: f32,
    pub bbox: [f32; 4],
}

impl Font {
    fn load(name: &'static str, data: &'static [u8]) -> Font {
        let face = Face::parse(data, 0).expect("bundled font parses");
        let units_per_em = face.units_per_em() as f32;
        let b = face.global_bounding_box();
        Font {
            name,
            data,
            units_per_em,
            ascender: face.ascender() as f32,
            descender: face.descender() as f32,
            cap_height: face.capital_height().unwrap_or(face.ascender()) as f32,
            bbox: [
                b.x_min as f32,
                b.y_min as f32,
                b.x_max as f32,
                b.y_max as f32,
            ],
            face,
        }
    }

    /// The glyph for `c`, or the font's `?` when it has none.
    pub fn glyph(&self, c: char) -> u16 {
        self.face
            .glyph_index(c)
            .or_else(|| self.face.glyph_index('?'))
            .map(|g| g.0)
            .unwrap_or(0)
    }

    /// Advance width of a glyph in font units.
    pub fn advance(&self, glyph: u16) -> f32 {
        self.face
            .glyph_hor_advance(ttf_parser::GlyphId(glyph))
            .unwrap_or(0) as f32
    }

    /// Width of `text` in millimetres at `size_pt`.
    pub fn width_mm(&self, text: &str, size_pt: f32) -> f32 {
        let units: f32 = text.chars().map(|c| self.advance(self.glyph(c))).sum();
        units / self.units_per_em * size_pt * MM_PER_PT
    }
}

pub const MM_PER_PT: f32 = 25.4 / 72.0;

/// Line height as a multiple of the font size.
pub const LEADING: f32 = 1.15;

/// Breaks `text` into at most `max_lines` lines no wider than `width` mm at
/// spaces. `None` if it does not fit, or if a word alone is too wide.
pub fn wrap_words(
    font: &Font,
    text: &str,
    size_pt: f32,
    width: f32,
    max_lines: usize,
) -> Option<Vec<String>> {
    let lines = wrap(font, text, size_pt, width, max_lines)?;
    let words = text.split_whitespace().count();
    let pieces: usize = lines.iter().map(|l| l.split_whitespace().count()).sum();
    (pieces == words).then_some(lines)
}

/// Breaks `text` into at most `max_lines` lines no wider than `width` mm, at
/// spaces where possible and inside a word when a word alone is too wide.
/// `None` if it does not fit.
pub fn wrap(
    font: &Font,
    text: &str,
    size_pt: f32,
    width: f32,
    max_lines: usize,
) -> Option<Vec<String>> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if font.width_mm(&candidate, size_pt) <= width {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        // The word alone may still be too wide: split it by characters.
        let mut piece = String::new();
        for c in word.chars() {
            piece.push(c);
            if font.width_mm(&piece, size_pt) > width {
                piece.pop();
                if piece.is_empty() {
                    return None;
                }
                lines.push(std::mem::take(&mut piece));
                piece.push(c);
            }
        }
        current = piece;
    }
    if !current.is_empty() {
        lines.push(current);
    }
    (lines.len() <= max_lines).then_some(lines)
}

/// Like [`wrap`], but text beyond `max_lines` is cut and the last line ends
/// with "…" instead of failing.
pub fn wrap_shortened(
    font: &Font,
    text: &str,
    size_pt: f32,
    width: f32,
    max_lines: usize,
) -> Option<Vec<String>> {
    let mut lines = wrap(font, text, size_pt, width, usize::MAX)?;
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        let last = lines.pop().unwrap_or_default();
        lines.push(ellipsize(font, &format!("{last}…"), size_pt, width));
    }
    Some(lines)
}

/// Shortens `text` with "…" so that it fits on one line of `width` mm.
pub fn ellipsize(font: &Font, text: &str, size_pt: f32, width: f32) -> String {
    if font.width_mm(text, size_pt) <= width {
        return text.to_owned();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let candidate: String = chars.iter().collect::<String>().trim_end().to_owned() + "…";
        if font.width_mm(&candidate, size_pt) <= width {
            return candidate;
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrillic_has_real_glyphs() {
        let f = FontId::Regular.font();
        assert_ne!(f.glyph('Ж'), f.glyph('?'));
        assert_ne!(f.glyph('ё'), f.glyph('?'));
        assert!(f.width_mm("Кофемашина", 10.0) > 10.0);
    }

    #[test]
    fn wrapping_respects_width_and_line_count() {
        let f = FontId::Bold.font();
        let text = "Приточная установка Systemair Topvex SR09";
        let lines = wrap(f, text, 8.0, 30.0, 5).unwrap();
        assert!(lines.len() >= 2);
        for l in &lines {
            assert!(f.width_mm(l, 8.0) <= 30.0, "{l}");
        }
        assert!(wrap(f, text, 8.0, 30.0, 1).is_none());
        let long_word = "Вентиляционнаяустановкабезпробелов";
        for l in wrap(f, long_word, 8.0, 15.0, 10).unwrap() {
            assert!(f.width_mm(&l, 8.0) <= 15.0);
        }
    }

    #[test]
    fn ellipsis_fits() {
        let f = FontId::Regular.font();
        let s = ellipsize(f, "Очень длинное название оборудования", 8.0, 20.0);
        assert!(s.ends_with('…') && f.width_mm(&s, 8.0) <= 20.0, "{s}");
        assert_eq!(ellipsize(f, "Кран", 8.0, 20.0), "Кран");
    }
}
