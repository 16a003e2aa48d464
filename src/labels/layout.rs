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
    /// No text is set smaller: what does not fit at this size is cut with
    /// "…" or left out, and reported.
    pub min_pt: f32,
}

pub const DEFAULT_CTA: &str = "Сканируйте, чтобы сообщить о неисправности";

/// The smallest text a label prints unless told otherwise, in points.
pub const DEFAULT_MIN_PT: f32 = 6.0;
/// The range a person may choose for it.
pub const MIN_PT_RANGE: std::ops::RangeInclusive<f32> = 4.0..=10.0;

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
    /// Never larger than this, whatever the scale (one name size per sheet).
    ceiling: f32,
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
    // Whole-word wrapping only gets easier as text gets smaller, so a size
    // that failed once fails at every larger size: per block, the smallest
    // size known to fail, and the lenient fallback, computed once.
    let mut fails_at = vec![f32::INFINITY; blocks.len()];
    let mut fallback: Vec<Option<Option<Vec<String>>>> = vec![None; blocks.len()];
    loop {
        let mut out = Vec::with_capacity(blocks.len());
        let mut total = GAP * blocks.len().saturating_sub(1) as f32;
        for (i, b) in blocks.iter().enumerate() {
            let font = b.font.font();
            // Each block shrinks on its own to fit the width; the scale is
            // shared only for the height.
            let mut size = (b.max_pt * scale).min(b.ceiling).max(b.min_pt);
            let mut lines = None;
            loop {
                if size < fails_at[i] {
                    lines = wrap_words(font, &b.text, size, w, b.max_lines);
                    if lines.is_some() {
                        break;
                    }
                    fails_at[i] = size;
                }
                if size <= b.min_pt {
                    break;
                }
                size = (size - 0.25).max(b.min_pt);
            }
            let fitted = match lines {
                Some(lines) => Some((lines, size)),
                None if lenient => {
                    let lines = fallback[i].get_or_insert_with(|| {
                        if b.shorten {
                            wrap_shortened(font, &b.text, b.min_pt, w, b.max_lines)
                        } else {
                            wrap(font, &b.text, b.min_pt, w, b.max_lines)
                        }
                    });
                    lines.clone().map(|l| (l, b.min_pt))
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
fn fit_column(blocks: Vec<Block>, w: f32, h: f32) -> Vec<Fitted> {
    fit_column_noting(blocks, w, h).0
}

/// [`fit_column`], and whether any text was cut with "…" or left out.
fn fit_column_noting(mut blocks: Vec<Block>, w: f32, h: f32) -> (Vec<Fitted>, bool) {
    if let Some(f) = try_fit(&blocks, w, h, false) {
        return (f, false);
    }
    let cut = |fitted: &[Fitted], blocks: &[Block], dropped: bool| {
        dropped
            || fitted.iter().zip(blocks).any(|(f, b)| {
                f.lines.last().is_some_and(|l| l.ends_with('…')) && !b.text.ends_with('…')
            })
    };
    let mut dropped = false;
    loop {
        if let Some(f) = try_fit(&blocks, w, h, true) {
            let was_cut = cut(&f, &blocks, dropped);
            return (f, was_cut);
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
        dropped = true;
    }
    // Last resort: each remaining block on one shortened line, while they fit.
    let mut out = Vec::new();
    let mut total = 0.0;
    let mut was_cut = dropped;
    for b in blocks {
        let lh = line_height(b.min_pt) + if out.is_empty() { 0.0 } else { GAP };
        if total + lh > h {
            was_cut = true;
            break;
        }
        let text = ellipsize(b.font.font(), &b.text, b.min_pt, w);
        if text.is_empty() {
            was_cut = true;
            continue;
        }
        was_cut |= text != b.text;
        total += lh;
        out.push(Fitted {
            lines: vec![text],
            font: b.font,
            size_pt: b.min_pt,
        });
    }
    (out, was_cut)
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

/// How one label came out: its QR's module (for warnings about codes too
/// small to scan), the size its name got, and whether text was cut.
#[derive(Debug, Clone, Copy)]
pub struct QrFit {
    pub module_mm: f32,
    /// The name's size, if it is printed.
    pub title_pt: Option<f32>,
    /// Some text did not fit at the minimum size: cut with "…" or left out.
    pub shortened: bool,
}

/// Lays out one label in `slot`.
pub fn label(
    slot: Slot,
    shape: Shape,
    content: &LabelContent,
    style: &Style,
    items: &mut Vec<Item>,
) -> Result<QrFit, QrError> {
    label_capped(slot, shape, content, style, None, None, items)
}

/// [`label`] with the name no larger than `title_cap` points (one name size
/// for a whole sheet).
/// `matrix` is the label's QR when already encoded.
fn label_capped(
    slot: Slot,
    shape: Shape,
    content: &LabelContent,
    style: &Style,
    title_cap: Option<f32>,
    matrix: Option<Arc<QrMatrix>>,
    items: &mut Vec<Item>,
) -> Result<QrFit, QrError> {
    let matrix = match matrix {
        Some(m) => m,
        None => Arc::new(QrMatrix::new(&content.url)?),
    };
    let modules = (matrix.width + 2 * QUIET_ZONE) as f32;

    let (x, y, w, h) = (slot.x, slot.y, slot.w, slot.h);
    let pad = (w.min(h) * 0.05).clamp(0.8, 3.0);
    let floor = style
        .min_pt
        .clamp(*MIN_PT_RANGE.start(), *MIN_PT_RANGE.end());
    let mut title_pt = None;
    let mut shortened = false;

    let blocks = |wide: bool| {
        let mut b = vec![Block {
            text: content.title.clone(),
            font: FontId::Bold,
            max_pt: 11.0,
            min_pt: 4.5,
            max_lines: if wide { 3 } else { 2 },
            drop_rank: 1,
            // A name too long for the label at the floor ends in "…".
            shorten: true,
            ceiling: title_cap.unwrap_or(f32::INFINITY),
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
                ceiling: f32::INFINITY,
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
            ceiling: f32::INFINITY,
        });
        if !style.cta.trim().is_empty() {
            b.push(Block {
                text: style.cta.clone(),
                font: FontId::Regular,
                max_pt: 7.0,
                min_pt: 4.0,
                max_lines: 3,
                drop_rank: 4,
                shorten: true,
                ceiling: f32::INFINITY,
            });
        }
        if let Some(org) = style.org.as_ref().filter(|o| !o.trim().is_empty()) {
            b.push(Block {
                text: org.clone(),
                font: FontId::Regular,
                max_pt: 6.5,
                min_pt: 4.0,
                max_lines: 2,
                drop_rank: 5,
                shorten: true,
                ceiling: f32::INFINITY,
            });
        }
        // Nothing smaller than the floor; a block's largest size is never below it.
        for block in &mut b {
            block.min_pt = block.min_pt.max(floor);
            block.max_pt = block.max_pt.max(block.min_pt);
        }
        b
    };
    let mut fit = |blocks: Vec<Block>, w: f32, h: f32| {
        let (fitted, cut) = fit_column_noting(blocks, w, h);
        shortened |= cut;
        title_pt = fitted
            .iter()
            .find(|f| f.font == FontId::Bold)
            .map(|f| f.size_pt);
        fitted
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
        let fitted = fit(blocks(false), tw, th);
        place(&fitted, x + (w - tw) / 2.0, ty, tw, true, items);
    } else if w >= h * 1.25 && w - h >= FontId::Mono.font().width_mm(&content.code, floor) + 1.0 {
        // (Beside the QR only while the code itself fits there at the floor.)
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
            let fitted = fit(blocks(true), tw, th);
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
            let fitted = fit(blocks(false), inner_w, th);
            place(&fitted, x + pad, ty, inner_w, true, items);
        }
    }
    Ok(QrFit {
        module_mm: qr_size / modules,
        title_pt,
        shortened,
    })
}

/// Names within this many points of a sheet's median size share one size.
const NAME_SIZE_SPREAD: f32 = 1.5;

/// What a whole job came out as: the smallest QR module printed, and the
/// labels (by their index in the job) whose text was cut.
#[derive(Debug, Clone, Default)]
pub struct JobFit {
    pub smallest: Option<QrFit>,
    pub shortened: Vec<usize>,
}

/// A job's pages for a sheet or roll template. `skip` leaves the first labels
/// of the first sheet empty (a partly used sheet). The names on one sheet share
/// one size, the one most of them can take: a name that needs less gets less.
pub fn sheets(
    template: &Template,
    labels: &[LabelContent],
    style: &Style,
    skip: usize,
    offset: (f32, f32),
) -> Result<(Vec<Page>, JobFit), QrError> {
    let per_page = template.per_page();
    let skip = skip.min(per_page - 1);
    let mut pages: Vec<Page> = Vec::new();
    let mut fits = JobFit::default();
    let mut start = 0;
    while start < labels.len() {
        let first_slot = if pages.is_empty() { skip } else { 0 };
        let end = (start + per_page - first_slot).min(labels.len());
        // Each label laid out alone; the sheet's name size is the smallest of
        // those near the median, so that names a little longer than most do
        // not stand out, and only a name that needs much less gets less.
        let mut alone = Vec::with_capacity(end - start);
        for (n, content) in labels[start..end].iter().enumerate() {
            let slot = template.slot(first_slot + n, offset);
            let mut items = Vec::new();
            let fit = label_capped(slot, template.shape, content, style, None, None, &mut items)?;
            alone.push((items, fit));
        }
        let mut sizes: Vec<f32> = alone.iter().filter_map(|(_, f)| f.title_pt).collect();
        sizes.sort_by(f32::total_cmp);
        let cap = sizes.get(sizes.len() / 2).map(|&median| {
            sizes
                .iter()
                .copied()
                .find(|&s| s >= median - NAME_SIZE_SPREAD)
                .unwrap_or(median)
        });
        let mut page = Page {
            w: template.page_w,
            h: template.page_h,
            items: Vec::new(),
        };
        for (n, (items, fit)) in alone.into_iter().enumerate() {
            // A name larger than the sheet's is laid out again at that size
            // (its QR reused); the others stay as they are.
            let (items, fit) = match (cap, fit.title_pt) {
                (Some(cap), Some(own)) if own > cap + 0.001 => {
                    let matrix = items.iter().find_map(|i| match i {
                        Item::Qr { matrix, .. } => Some(matrix.clone()),
                        _ => None,
                    });
                    let slot = template.slot(first_slot + n, offset);
                    let mut again = Vec::new();
                    let content = &labels[start + n];
                    let fit = label_capped(
                        slot,
                        template.shape,
                        content,
                        style,
                        Some(cap),
                        matrix,
                        &mut again,
                    )?;
                    (again, fit)
                }
                _ => (items, fit),
            };
            page.items.extend(items);
            if fit.shortened {
                fits.shortened.push(start + n);
            }
            if fits.smallest.is_none_or(|s| fit.module_mm < s.module_mm) {
                fits.smallest = Some(fit);
            }
        }
        pages.push(page);
        start = end;
    }
    Ok((pages, fits))
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
                ceiling: f32::INFINITY,
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
        ceiling: f32::INFINITY,
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
            min_pt: DEFAULT_MIN_PT,
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
        assert!(fit.smallest.unwrap().module_mm > 0.8);
        assert!(fit.shortened.is_empty());
    }

    /// Every text item of a page, as (size, text).
    fn texts(page: &Page) -> Vec<(f32, String)> {
        page.items
            .iter()
            .filter_map(|i| match i {
                Item::Text { size_pt, text, .. } => Some((*size_pt, text.clone())),
                _ => None,
            })
            .collect()
    }

    /// Nothing prints under the minimum size; what had to be cut for it is
    /// reported by label, and nothing else is.
    #[test]
    fn no_text_under_the_minimum_and_every_cut_is_reported() {
        let long = "Приточно-вытяжная вентиляционная установка Systemair Topvex SR09 EL с роторным рекуператором, корпус 2";
        for t in builtin() {
            for min_pt in [DEFAULT_MIN_PT, 8.0] {
                let labels = vec![content("Кофемашина"), content(long)];
                let style = Style { min_pt, ..style() };
                let (pages, fit) = sheets(&t, &labels, &style, 0, (0.0, 0.0)).unwrap();
                for (size, text) in pages.iter().flat_map(texts) {
                    assert!(size >= min_pt - 0.001, "{}: '{text}' at {size} pt", t.id);
                }
                let cut = pages
                    .iter()
                    .flat_map(texts)
                    .any(|(_, text)| text.ends_with('…'));
                if cut {
                    assert!(!fit.shortened.is_empty(), "{}: a cut not reported", t.id);
                }
            }
        }
        // The 58×40 roll at 6 pt: the long name does not fit whole and ends
        // in "…", and only that label is reported.
        let roll = crate::labels::templates::find("roll-58x40").unwrap();
        let bare = |title: &str| LabelContent {
            details: None,
            ..content(title)
        };
        let plain = Style {
            org: None,
            ..style()
        };
        let (pages, fit) = sheets(
            &roll,
            &[bare("Кофемашина"), bare(long)],
            &plain,
            0,
            (0.0, 0.0),
        )
        .unwrap();
        assert_eq!(fit.shortened, vec![1], "only the long one");
        assert!(texts(&pages[1])
            .iter()
            .any(|(size, t)| t.ends_with('…') && *size >= 6.0));
        assert!(texts(&pages[0]).iter().all(|(_, t)| !t.ends_with('…')));
    }

    /// The names of one sheet share a size unless one needs less.
    #[test]
    fn names_on_a_sheet_share_one_size() {
        let t = crate::labels::templates::find("avery-l7160").unwrap();
        let names = [
            "Насос",
            "Кофемашина Jura",
            "Кондиционер Daikin",
            "Кулер Ecotronic",
            "МФУ HP LaserJet Pro M428fdw",
            "Приточно-вытяжная вентиляционная установка Systemair Topvex SR09 EL",
        ];
        let labels: Vec<_> = names.iter().map(|n| content(n)).collect();
        let (pages, _) = sheets(&t, &labels, &style(), 0, (0.0, 0.0)).unwrap();
        let sizes: Vec<f32> = pages[0]
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Text {
                    font: FontId::Bold,
                    size_pt,
                    ..
                } => Some(*size_pt),
                _ => None,
            })
            .collect();
        // The last (very long) name needs less; the others share one size.
        let long = pages[0]
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Text {
                    font: FontId::Bold,
                    size_pt,
                    text,
                    ..
                } if text.starts_with("Приточно") => Some(*size_pt),
                _ => None,
            })
            .next()
            .unwrap();
        let mut rest: Vec<f32> = sizes.iter().copied().filter(|s| *s != long).collect();
        rest.dedup();
        assert_eq!(rest.len(), 1, "one size for the other names: {sizes:?}");
        assert!(long < rest[0], "the long name smaller: {sizes:?}");
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
