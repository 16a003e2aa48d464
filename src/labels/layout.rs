//! Where things go on a label, a sheet, a poster and the alignment test page.
//!
//! Layout is pure: it turns content and a template into [`Page`]s of simple
//! items (QR symbols, text lines, outlines) in millimetres from the page's
//! top-left corner. The PDF writer and the SVG preview draw the same items.

use std::sync::Arc;

use super::font::{ellipsize, wrap, wrap_shortened, wrap_words, FontId, LEADING, MM_PER_PT};
use super::qr::{self, QrError, QUIET_ZONE};
use super::templates::{Shape, Slot, Template};

/// Dark modules of one QR symbol, row-major, without the quiet zone.
#[derive(Debug, Clone)]
pub struct QrMatrix {
    pub width: usize,
    pub dark: Vec<bool>,
}

impl QrMatrix {
    pub fn new(data: &str) -> Result<QrMatrix, QrError> {
        let (dark_list, width) = qr::modules(data)?;
        let mut dark = vec![false; width * width];
        for (x, y) in dark_list {
            dark[y * width + x] = true;
        }
        Ok(QrMatrix { width, dark })
    }

    /// Horizontal runs of dark modules: (x, y, length).
    pub fn runs(&self) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        for y in 0..self.width {
            let row = &self.dark[y * self.width..(y + 1) * self.width];
            let mut x = 0;
            while x < self.width {
                if row[x] {
                    let start = x;
                    while x < self.width && row[x] {
                        x += 1;
                    }
                    out.push((start, y, x - start));
                } else {
                    x += 1;
                }
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
pub enum Item {
    /// A QR symbol; `size` includes the quiet zone.
    Qr {
        x: f32,
        y: f32,
        size: f32,
        matrix: Arc<QrMatrix>,
    },
    /// One line of text; `y` is the baseline.
    Text {
        x: f32,
        y: f32,
        size_pt: f32,
        font: FontId,
        text: String,
    },
    /// A thin outline (alignment page, preview).
    Outline {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        round: bool,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
    },
}

#[derive(Debug, Clone)]
pub struct Page {
    pub w: f32,
    pub h: f32,
    pub items: Vec<Item>,
}

/// What one label says.
#[derive(Debug, Clone)]
pub struct LabelContent {
    /// The QR payload: the code's URL in upper case.
    pub url: String,
    /// The code as printed for manual entry, e.g. `7K3M-9Q2A`.
    pub code: String,
    /// Asset or site name.
    pub title: String,
    /// Serial/inventory number or address.
    pub details: Option<String>,
}

/// What every label of a job says besides its own content.
#[derive(Debug, Clone)]
pub struct Style {
    /// Call to action, e.g. "Сканируйте, чтобы сообщить о неисправности".
    pub cta: String,
    /// Organisation name, printed small at the bottom.
    pub org: Option<String>,
}

pub const DEFAULT_CTA: &str = "Сканируйте, чтобы сообщить о неисправности";

/// `7K3M9Q2A` → `7K3M-9Q2A`: easier to read and type; parsing ignores the dash.
pub fn display_code(code: &str) -> String {
    if code.len() == 8 {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_owned()
    }
}

/// A text block to fit: shrinks from `max_pt` towards `min_pt` with the others.
struct Block {
    text: String,
    font: FontId,
    max_pt: f32,
    min_pt: f32,
    max_lines: usize,
    /// Dropped first when space runs out (higher goes first); 0 is never dropped.
    drop_rank: u8,
    /// May be cut with "…" rather than shrunk further (secondary lines).
    shorten: bool,
}

struct Fitted {
    lines: Vec<String>,
    font: FontId,
    size_pt: f32,
}

fn line_height(size_pt: f32) -> f32 {
    size_pt * LEADING * MM_PER_PT
}

/// Tries every scale from 1 down to the blocks' minimum sizes, whole words
/// only. Lenient: a block that does not fit even at its minimum size is set at
/// that size with long words broken, or, for secondary lines, cut with "…".
fn try_fit(blocks: &[Block], w: f32, h: f32, lenient: bool) -> Option<Vec<Fitted>> {
    let mut scale = 1.0f32;
    loop {
        let mut out = Vec::with_capacity(blocks.len());
        let mut total = GAP * blocks.len().saturating_sub(1) as f32;
        for b in blocks {
            let font = b.font.font();
            // Each block shrinks on its own to fit the width; the scale is
            // shared only for the height.
            let mut size = (b.max_pt * scale).max(b.min_pt);
            let mut lines = wrap_words(font, &b.text, size, w, b.max_lines);
            while lines.is_none() && size > b.min_pt {
                size = (size - 0.25).max(b.min_pt);
                lines = wrap_words(font, &b.text, size, w, b.max_lines);
            }
            let fitted = match lines {
                Some(lines) => Some((lines, size)),
                None if lenient => {
                    let lines = if b.shorten {
                        wrap_shortened(font, &b.text, b.min_pt, w, b.max_lines)
                    } else {
                        wrap(font, &b.text, b.min_pt, w, b.max_lines)
                    };
                    lines.map(|l| (l, b.min_pt))
                }
                None => None,
            };
            let Some((lines, size)) = fitted else {
                total = f32::INFINITY;
                break;
            };
            total += lines.len() as f32 * line_height(size);
            out.push(Fitted {
                lines,
                font: b.font,
                size_pt: size,
            });
        }
        if total <= h {
            return Some(out);
        }
        if blocks.iter().all(|b| b.max_pt * scale <= b.min_pt) {
            return None;
        }
        scale -= 0.04;
    }
}

const GAP: f32 = 0.6;

/// Fits blocks into a column of `w`×`h` mm: all blocks shrink together; then
/// long words may break and secondary lines are cut with "…"; then the least
/// important blocks are dropped. Never returns a line wider than `w` or a
/// stack taller than `h`.
fn fit_column(mut blocks: Vec<Block>, w: f32, h: f32) -> Vec<Fitted> {
    if let Some(f) = try_fit(&blocks, w, h, false) {
        return f;
    }
    loop {
        if let Some(f) = try_fit(&blocks, w, h, true) {
            return f;
        }
        let Some(pos) = blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.drop_rank > 0)
            .max_by_key(|(_, b)| b.drop_rank)
            .map(|(i, _)| i)
        else {
            break;
        };
        blocks.remove(pos);
    }
    // Last resort: each remaining block on one shortened line, while they fit.
    let mut out = Vec::new();
    let mut total = 0.0;
    for b in blocks {
        let lh = line_height(b.min_pt) + if out.is_empty() { 0.0 } else { GAP };
        if total + lh > h {
            break;
        }
        let text = ellipsize(b.font.font(), &b.text, b.min_pt, w);
        if text.is_empty() {
            continue;
        }
        total += lh;
        out.push(Fitted {
            lines: vec![text],
            font: b.font,
            size_pt: b.min_pt,
        });
    }
    out
}

/// Writes fitted blocks into `items`, from `top`, each line aligned by `align`.
fn place(fitted: &[Fitted], x: f32, top: f32, w: f32, centered: bool, items: &mut Vec<Item>) {
    let mut y = top;
    for (i, f) in fitted.iter().enumerate() {
        if i > 0 {
            y += GAP;
        }
        let font = f.font.font();
        for line in &f.lines {
            let lh = line_height(f.size_pt);
            // Baseline: the ascent below the line's top.
            let ascent = font.ascender / font.units_per_em * f.size_pt * MM_PER_PT;
            let width = font.width_mm(line, f.size_pt);
            let lx = if centered { x + (w - width) / 2.0 } else { x };
            items.push(Item::Text {
                x: lx,
                y: y + ascent.min(lh),
                size_pt: f.size_pt,
                font: f.font,
                text: line.clone(),
            });
            y += lh;
        }
    }
}

fn stack_height(fitted: &[Fitted]) -> f32 {
    let lines: f32 = fitted
        .iter()
        .map(|f| f.lines.len() as f32 * line_height(f.size_pt))
        .sum();
    lines + GAP * fitted.len().saturating_sub(1) as f32
}

/// Geometry of one label's QR, for warnings about modules too small to scan.
#[derive(Debug, Clone, Copy)]
pub struct QrFit {
    pub module_mm: f32,
}

/// Lays out one label in `slot`.
pub fn label(
    slot: Slot,
    shape: Shape,
    content: &LabelContent,
    style: &Style,
    items: &mut Vec<Item>,
) -> Result<QrFit, QrError> {
    let matrix = Arc::new(QrMatrix::new(&content.url)?);
    let modules = (matrix.width + 2 * QUIET_ZONE) as f32;

    let (x, y, w, h) = (slot.x, slot.y, slot.w, slot.h);
    let pad = (w.min(h) * 0.05).clamp(0.8, 3.0);

    let blocks = |wide: bool| {
        let mut b = vec![Block {
            text: content.title.clone(),
            font: FontId::Bold,
            max_pt: 11.0,
            min_pt: 4.5,
            max_lines: if wide { 3 } else { 2 },
            drop_rank: 1,
            shorten: false,
        }];
        if let Some(d) = &content.details {
            b.push(Block {
                text: d.clone(),
                font: FontId::Regular,
                max_pt: 7.5,
                min_pt: 4.0,
                max_lines: 2,
                drop_rank: 3,
                shorten: true,
            });
        }
        b.push(Block {
            text: content.code.clone(),
            font: FontId::Mono,
            max_pt: 10.0,
            min_pt: 4.5,
            max_lines: 1,
            drop_rank: 0,
            shorten: false,
        });
        if !style.cta.trim().is_empty() {
            b.push(Block {
                text: style.cta.clone(),
                font: FontId::Regular,
                max_pt: 7.0,
                min_pt: 4.0,
                max_lines: 2,
                drop_rank: 4,
                shorten: true,
            });
        }
        if let Some(org) = style.org.as_ref().filter(|o| !o.trim().is_empty()) {
            b.push(Block {
                text: org.clone(),
                font: FontId::Regular,
                max_pt: 6.5,
                min_pt: 4.0,
                max_lines: 1,
                drop_rank: 5,
                shorten: true,
            });
        }
        b
    };

    let qr_size;
    if shape == Shape::Round {
        // A circle: the QR's dark corners stay inside it (its white quiet zone
        // may touch the edge), and the text sits in the chord below.
        let d = w.min(h);
        qr_size = d * 0.58;
        let qx = x + (w - qr_size) / 2.0;
        let qy = y + d * 0.08;
        items.push(Item::Qr {
            x: qx,
            y: qy,
            size: qr_size,
            matrix,
        });
        let quiet = qr_size / modules * QUIET_ZONE as f32;
        let ty = qy + qr_size - quiet * 0.6;
        let tw = d * 0.64;
        let th = y + d * 0.9 - ty;
        let fitted = fit_column(blocks(false), tw, th);
        place(&fitted, x + (w - tw) / 2.0, ty, tw, true, items);
    } else if w >= h * 1.25 {
        // QR on the left, text beside it.
        qr_size = h - 2.0 * pad;
        let qx = x + pad;
        let qy = y + pad;
        items.push(Item::Qr {
            x: qx,
            y: qy,
            size: qr_size,
            matrix,
        });
        // The QR's own quiet zone already separates it from the text.
        let tx = qx + qr_size;
        let tw = x + w - pad - tx;
        let th = h - 2.0 * pad;
        if tw > 6.0 {
            let fitted = fit_column(blocks(true), tw, th);
            let top = y + pad + (th - stack_height(&fitted)) / 2.0;
            place(&fitted, tx, top, tw, false, items);
        }
    } else {
        // QR on top, text under it, centred.
        let inner_w = w - 2.0 * pad;
        let inner_h = h - 2.0 * pad;
        qr_size = inner_w.min(inner_h * 0.72);
        let qx = x + (w - qr_size) / 2.0;
        let qy = y + pad;
        items.push(Item::Qr {
            x: qx,
            y: qy,
            size: qr_size,
            matrix,
        });
        // Text may use the quiet zone's lower half.
        let quiet = qr_size / modules * QUIET_ZONE as f32;
        let ty = qy + qr_size - quiet * 0.5;
        let th = y + h - pad - ty;
        if th > 2.0 {
            let fitted = fit_column(blocks(false), inner_w, th);
            place(&fitted, x + pad, ty, inner_w, true, items);
        }
    }
    Ok(QrFit {
        module_mm: qr_size / modules,
    })
}

/// A job's pages for a sheet or roll template. `skip` leaves the first labels
/// of the first sheet empty (a partly used sheet).
pub fn sheets(
    template: &Template,
    labels: &[LabelContent],
    style: &Style,
    skip: usize,
    offset: (f32, f32),
) -> Result<(Vec<Page>, Option<QrFit>), QrError> {
    let per_page = template.per_page();
    let skip = skip.min(per_page - 1);
    let mut pages: Vec<Page> = Vec::new();
    let mut smallest: Option<QrFit> = None;
    for (n, content) in labels.iter().enumerate() {
        let index = n + skip;
        if index % per_page == 0 || pages.is_empty() {
            pages.push(Page {
                w: template.page_w,
                h: template.page_h,
                items: Vec::new(),
            });
        }
        let page = pages.last_mut().expect("a page");
        let fit = label(
            template.slot(index, offset),
            template.shape,
            content,
            style,
            &mut page.items,
        )?;
        if smallest.is_none_or(|s| fit.module_mm < s.module_mm) {
            smallest = Some(fit);
        }
    }
    Ok((pages, smallest))
}

/// One page that shows where the labels are: outlines, centre crosses, and how
/// to measure the offset. Printed on plain paper and held against a sheet.
pub fn alignment_page(template: &Template, offset: (f32, f32), lines: &[String]) -> Page {
    let mut items = Vec::new();
    for i in 0..template.per_page() {
        let s = template.slot(i, offset);
        items.push(Item::Outline {
            x: s.x,
            y: s.y,
            w: s.w,
            h: s.h,
            round: template.shape == Shape::Round,
        });
        let (cx, cy) = (s.x + s.w / 2.0, s.y + s.h / 2.0);
        let arm = (s.w.min(s.h) * 0.15).min(4.0);
        items.push(Item::Line {
            x1: cx - arm,
            y1: cy,
            x2: cx + arm,
            y2: cy,
        });
        items.push(Item::Line {
            x1: cx,
            y1: cy - arm,
            x2: cx,
            y2: cy + arm,
        });
    }
    // A 50 mm ruler to check the printer is not scaling.
    let (rx, ry) = (template.page_w / 2.0 - 25.0, template.page_h - 6.0);
    if template.page_h > 60.0 {
        items.push(Item::Line {
            x1: rx,
            y1: ry,
            x2: rx + 50.0,
            y2: ry,
        });
        for mm in (0..=50).step_by(5) {
            let tick = if mm % 10 == 0 { 2.0 } else { 1.0 };
            items.push(Item::Line {
                x1: rx + mm as f32,
                y1: ry - tick,
                x2: rx + mm as f32,
                y2: ry,
            });
        }
    }
    let first = template.slot(0, offset);
    let mut y = (first.y + first.h / 2.0 - 10.0).max(4.0);
    let tw = (first.w - 6.0).max(10.0);
    for line in lines {
        let fitted = fit_column(
            vec![Block {
                text: line.clone(),
                font: FontId::Regular,
                max_pt: 6.5,
                min_pt: 4.0,
                max_lines: 3,
                drop_rank: 0,
                shorten: true,
            }],
            tw,
            12.0,
        );
        place(&fitted, first.x + 3.0, y, tw, false, &mut items);
        y += stack_height(&fitted) + 0.8;
    }
    Page {
        w: template.page_w,
        h: template.page_h,
        items,
    }
}

/// Poster sizes for sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PosterSize {
    A4,
    A5,
}

impl PosterSize {
    pub fn parse(s: &str) -> Option<PosterSize> {
        match s.to_ascii_lowercase().as_str() {
            "a4" => Some(PosterSize::A4),
            "a5" => Some(PosterSize::A5),
            _ => None,
        }
    }

    fn dims(self) -> (f32, f32) {
        match self {
            PosterSize::A4 => (210.0, 297.0),
            PosterSize::A5 => (148.0, 210.0),
        }
    }
}

/// What a poster says besides the QR.
pub struct PosterText {
    /// The organisation, printed small above the heading.
    pub org: Option<String>,
    pub heading: String,
    pub site: String,
    pub address: Option<String>,
    pub steps: Vec<String>,
    pub manual: String,
    pub english: Vec<String>,
}

/// A site poster: a big QR, the site, short instructions.
pub fn poster(size: PosterSize, url: &str, text: &PosterText) -> Result<Page, QrError> {
    let (w, h) = size.dims();
    let k = w / 210.0;
    let margin = 14.0 * k;
    let inner = w - 2.0 * margin;
    let mut items = Vec::new();
    let mut y = margin;

    let block = |t: &str, font, pt: f32, lines| Block {
        text: t.to_owned(),
        font,
        max_pt: pt * k,
        min_pt: (pt * k * 0.6).max(6.0),
        max_lines: lines,
        drop_rank: 0,
        shorten: true,
    };
    if let Some(org) = &text.org {
        let org = fit_column(vec![block(org, FontId::Regular, 11.0, 1)], inner, 8.0 * k);
        place(&org, margin, y, inner, true, &mut items);
        y += stack_height(&org) + 3.0 * k;
    }
    let heading = fit_column(
        vec![block(&text.heading, FontId::Bold, 30.0, 2)],
        inner,
        40.0 * k,
    );
    place(&heading, margin, y, inner, true, &mut items);
    y += stack_height(&heading) + 5.0 * k;

    let mut site_blocks = vec![block(&text.site, FontId::Bold, 18.0, 2)];
    if let Some(a) = &text.address {
        site_blocks.push(block(a, FontId::Regular, 13.0, 2));
    }
    let site = fit_column(site_blocks, inner, 30.0 * k);
    place(&site, margin, y, inner, true, &mut items);
    y += stack_height(&site) + 4.0 * k;

    let matrix = Arc::new(QrMatrix::new(url)?);
    let qr_size = (130.0 * k).min(h * 0.45);
    items.push(Item::Qr {
        x: (w - qr_size) / 2.0,
        y,
        size: qr_size,
        matrix,
    });
    y += qr_size + 2.0 * k;

    let steps: Vec<Block> = text
        .steps
        .iter()
        .map(|s| block(s, FontId::Regular, 12.5, 2))
        .collect();
    let steps = fit_column(steps, inner, 45.0 * k);
    place(&steps, margin, y, inner, false, &mut items);
    y += stack_height(&steps) + 3.0 * k;

    let manual = fit_column(
        vec![block(&text.manual, FontId::Mono, 11.0, 2)],
        inner,
        14.0 * k,
    );
    place(&manual, margin, y, inner, true, &mut items);
    y += stack_height(&manual) + 3.0 * k;

    if !text.english.is_empty() {
        let english: Vec<Block> = text
            .english
            .iter()
            .map(|s| block(s, FontId::Regular, 9.5, 2))
            .collect();
        let room = (h - margin - y).max(0.0);
        let english = fit_column(english, inner, room);
        place(&english, margin, y, inner, false, &mut items);
    }
    Ok(Page { w, h, items })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::templates::builtin;

    fn content(title: &str) -> LabelContent {
        LabelContent {
            url: "HTTPS://QR.EXAMPLE.RU/Q/7K3M9Q2A".into(),
            code: "7K3M-9Q2A".into(),
            title: title.into(),
            details: Some("S/N JX8-0041772 · Инв. № ИНВ-000117".into()),
        }
    }

    fn style() -> Style {
        Style {
            cta: DEFAULT_CTA.into(),
            org: Some("ООО «Сервис-Инжиниринг»".into()),
        }
    }

    /// Text never leaves its label and never overflows, whatever the name.
    #[test]
    fn text_stays_inside_every_label_of_every_template() {
        let titles = [
            "Кофемашина Jura GIGA X8",
            "Приточно-вытяжная вентиляционная установка Systemair Topvex SR09 EL с роторным рекуператором, корпус 2",
            "Насосстанцияводоснабженияоченьдлинноесловобезпробелов",
            "",
        ];
        for t in builtin() {
            for title in titles {
                let slot = t.slot(0, (0.0, 0.0));
                let mut items = Vec::new();
                label(slot, t.shape, &content(title), &style(), &mut items).unwrap();
                for item in &items {
                    match item {
                        Item::Text {
                            x,
                            y,
                            size_pt,
                            font,
                            text,
                        } => {
                            let w = font.font().width_mm(text, *size_pt);
                            let h = size_pt * MM_PER_PT;
                            assert!(
                                *x >= slot.x - 0.01 && x + w <= slot.x + slot.w + 0.01,
                                "{}: '{text}' x {x} w {w}",
                                t.id
                            );
                            assert!(
                                y - h >= slot.y - 0.5 && *y <= slot.y + slot.h + 0.01,
                                "{}: '{text}' y {y}",
                                t.id
                            );
                        }
                        Item::Qr { x, y, size, .. } => {
                            assert!(
                                *x >= slot.x && x + size <= slot.x + slot.w + 0.01,
                                "{} qr",
                                t.id
                            );
                            assert!(
                                *y >= slot.y && y + size <= slot.y + slot.h + 0.01,
                                "{} qr",
                                t.id
                            );
                        }
                        _ => {}
                    }
                }
                // The code for manual entry is always printed.
                let has_code = items
                    .iter()
                    .any(|i| matches!(i, Item::Text { text, .. } if text == "7K3M-9Q2A"));
                assert!(has_code || slot.w < 30.0, "{}: code missing", t.id);
            }
        }
    }

    #[test]
    fn skip_leaves_the_first_labels_empty_and_pages_follow() {
        let t = crate::labels::templates::find("avery-l7160").unwrap();
        let labels: Vec<_> = (0..25).map(|i| content(&format!("Насос {i}"))).collect();
        let (pages, fit) = sheets(&t, &labels, &style(), 5, (0.0, 0.0)).unwrap();
        assert_eq!(
            pages.len(),
            2,
            "5 skipped + 25 labels = 30 slots on 21-label sheets"
        );
        let first_qr = pages[0].items.iter().find_map(|i| match i {
            Item::Qr { x, y, .. } => Some((*x, *y)),
            _ => None,
        });
        let slot5 = t.slot(5, (0.0, 0.0));
        let (qx, qy) = first_qr.unwrap();
        assert!(qx >= slot5.x && qy >= slot5.y && qy < slot5.y + slot5.h);
        assert!(fit.unwrap().module_mm > 0.8);
    }

    #[test]
    fn runs_cover_exactly_the_dark_modules() {
        let m = QrMatrix::new("HTTPS://QR.EXAMPLE.RU/Q/7K3M9Q2A").unwrap();
        let covered: usize = m.runs().iter().map(|r| r.2).sum();
        assert_eq!(covered, m.dark.iter().filter(|d| **d).count());
    }

    #[test]
    fn codes_are_grouped_for_reading() {
        assert_eq!(display_code("7K3M9Q2A"), "7K3M-9Q2A");
    }
}
