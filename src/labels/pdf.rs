//! PDF output: pages at the exact media size, vector QR symbols, and subset
//! DejaVu fonts embedded with a ToUnicode map (text stays searchable).

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use subsetter::GlyphRemapper;

use super::font::FontId;
use super::layout::{Item, Page};

const PT_PER_MM: f32 = 72.0 / 25.4;

#[derive(Debug, thiserror::Error)]
#[error("cannot write the PDF: {0}")]
pub struct PdfError(String);

/// Glyphs used so far in one font, with their new ids in the subset.
struct FontUse {
    remapper: GlyphRemapper,
    /// New glyph id → the character it shows (for ToUnicode and widths).
    chars: BTreeMap<u16, (char, u16)>,
}

impl FontUse {
    fn new() -> FontUse {
        FontUse {
            remapper: GlyphRemapper::new(),
            chars: BTreeMap::new(),
        }
    }

    /// Two bytes per glyph, big-endian, in the subset's numbering.
    fn encode(&mut self, font: FontId, text: &str) -> Vec<u8> {
        let f = font.font();
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let old = f.glyph(c);
            let new = self.remapper.remap(old);
            self.chars.entry(new).or_insert((c, old));
            out.extend_from_slice(&new.to_be_bytes());
        }
        out
    }
}

fn compress(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

fn font_resource(font: FontId) -> Name<'static> {
    match font {
        FontId::Regular => Name(b"F0"),
        FontId::Bold => Name(b"F1"),
        FontId::Mono => Name(b"F2"),
    }
}

/// Writes `pages` as one PDF. Viewers are asked not to scale when printing,
/// since a label sheet is only right at 100 %.
pub fn render(pages: &[Page], title: &str) -> Result<Vec<u8>, PdfError> {
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog_id = alloc();
    let tree_id = alloc();
    let info_id = alloc();
    let font_ids: Vec<Ref> = FontId::ALL.iter().map(|_| alloc()).collect();
    let mut uses: Vec<FontUse> = FontId::ALL.iter().map(|_| FontUse::new()).collect();

    let mut pdf = Pdf::new();
    let mut page_ids = Vec::with_capacity(pages.len());
    for page in pages {
        let page_id = alloc();
        let content_id = alloc();
        page_ids.push(page_id);
        let content = draw(page, &mut uses);
        pdf.stream(content_id, &compress(&content))
            .filter(Filter::FlateDecode);
        let mut p = pdf.page(page_id);
        p.media_box(Rect::new(0.0, 0.0, page.w * PT_PER_MM, page.h * PT_PER_MM));
        p.parent(tree_id);
        p.contents(content_id);
        let mut resources = p.resources();
        let mut fonts = resources.fonts();
        for (i, f) in FontId::ALL.iter().enumerate() {
            fonts.pair(font_resource(*f), font_ids[i]);
        }
        fonts.finish();
        resources.finish();
        p.finish();
    }

    let count = page_ids.len() as i32;
    pdf.pages(tree_id).kids(page_ids).count(count);
    let mut catalog = pdf.catalog(catalog_id);
    catalog.pages(tree_id);
    catalog
        .viewer_preferences()
        .pair(Name(b"PrintScaling"), Name(b"None"));
    catalog.finish();
    pdf.document_info(info_id)
        .title(TextStr(title))
        .producer(TextStr(concat!("qrdesk ", env!("CARGO_PKG_VERSION"))));

    for (i, font) in FontId::ALL.iter().enumerate() {
        write_font(&mut pdf, *font, font_ids[i], &uses[i], &mut alloc)?;
    }
    Ok(pdf.finish())
}

fn draw(page: &Page, uses: &mut [FontUse]) -> Vec<u8> {
    let mut c = Content::new();
    let y = |mm: f32| (page.h - mm) * PT_PER_MM;
    for item in &page.items {
        match item {
            Item::Qr {
                x,
                y: top,
                size,
                matrix,
            } => {
                let modules = (matrix.width + 2 * super::qr::QUIET_ZONE) as f32;
                let m = size / modules * PT_PER_MM;
                let q = super::qr::QUIET_ZONE as f32;
                // Module space: origin at the symbol's top-left, y downwards.
                c.save_state();
                c.transform([m, 0.0, 0.0, -m, x * PT_PER_MM + q * m, y(*top) - q * m]);
                for (rx, ry, len) in matrix.runs() {
                    c.rect(rx as f32, ry as f32, len as f32, 1.0);
                }
                c.fill_nonzero();
                c.restore_state();
            }
            Item::Text {
                x,
                y: base,
                size_pt,
                font,
                text,
            } => {
                let bytes = uses[*font as usize].encode(*font, text);
                c.begin_text();
                c.set_font(font_resource(*font), *size_pt);
                c.next_line(x * PT_PER_MM, y(*base));
                c.show(Str(&bytes));
                c.end_text();
            }
            Item::Outline {
                x,
                y: top,
                w,
                h,
                round,
            } => {
                c.save_state();
                c.set_line_width(0.4);
                c.set_stroke_gray(0.45);
                let (x0, y0, w, h) = (x * PT_PER_MM, y(top + h), w * PT_PER_MM, h * PT_PER_MM);
                if *round {
                    ellipse(&mut c, x0, y0, w, h);
                } else {
                    c.rect(x0, y0, w, h);
                }
                c.stroke();
                c.restore_state();
            }
            Item::Line { x1, y1, x2, y2 } => {
                c.save_state();
                c.set_line_width(0.4);
                c.move_to(x1 * PT_PER_MM, y(*y1));
                c.line_to(x2 * PT_PER_MM, y(*y2));
                c.stroke();
                c.restore_state();
            }
        }
    }
    c.finish().to_vec()
}

/// An ellipse in the box as four Bézier arcs.
fn ellipse(c: &mut Content, x: f32, y: f32, w: f32, h: f32) {
    const K: f32 = 0.552_284_8;
    let (rx, ry) = (w / 2.0, h / 2.0);
    let (cx, cy) = (x + rx, y + ry);
    c.move_to(cx + rx, cy);
    c.cubic_to(cx + rx, cy + K * ry, cx + K * rx, cy + ry, cx, cy + ry);
    c.cubic_to(cx - K * rx, cy + ry, cx - rx, cy + K * ry, cx - rx, cy);
    c.cubic_to(cx - rx, cy - K * ry, cx - K * rx, cy - ry, cx, cy - ry);
    c.cubic_to(cx + K * rx, cy - ry, cx + rx, cy - K * ry, cx + rx, cy);
    c.close_path();
}

/// A Type0/CIDFontType2 font with the subset embedded.
fn write_font(
    pdf: &mut Pdf,
    font: FontId,
    type0: Ref,
    used: &FontUse,
    alloc: &mut impl FnMut() -> Ref,
) -> Result<(), PdfError> {
    let f = font.font();
    let (cid, descriptor, file, cmap_id) = (alloc(), alloc(), alloc(), alloc());
    let name = Name(f.name.as_bytes());
    let scale = 1000.0 / f.units_per_em;

    pdf.type0_font(type0)
        .base_font(name)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap_id);

    let info = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    let mut cid_font = pdf.cid_font(cid);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(name)
        .system_info(info)
        .font_descriptor(descriptor)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    {
        let mut widths = cid_font.widths();
        for (new, (_, old)) in &used.chars {
            widths.consecutive(*new, [f.advance(*old) * scale]);
        }
    }
    cid_font.finish();

    let b = f.bbox;
    pdf.font_descriptor(descriptor)
        .name(name)
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(
            b[0] * scale,
            b[1] * scale,
            b[2] * scale,
            b[3] * scale,
        ))
        .italic_angle(0.0)
        .ascent(f.ascender * scale)
        .descent(f.descender * scale)
        .cap_height(f.cap_height * scale)
        .stem_v(if font == FontId::Regular { 80.0 } else { 140.0 })
        .font_file2(file);

    let subset =
        subsetter::subset(f.data, 0, &used.remapper).map_err(|e| PdfError(format!("{e:?}")))?;
    pdf.stream(file, &compress(&subset))
        .filter(Filter::FlateDecode);

    let mut cmap = UnicodeCmap::new(Name(b"Custom"), info);
    for (new, (c, _)) in &used.chars {
        cmap.pair(*new, *c);
    }
    pdf.cmap(cmap_id, &cmap.finish());
    Ok(())
}
