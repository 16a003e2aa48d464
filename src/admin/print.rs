//! The print page: choose codes, a template (or a custom sheet), skip used
//! labels, calibrate, preview in the browser, and download PDF or ZPL.

use crate::i18n::tr::filters;
use crate::i18n::tr::{tr, trf};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use validator::{Validate, ValidationError};

use super::auth::{AdminForm, Staff};
use super::codes::pdf_response;
use super::refused;
use super::{notice, Frame};
use crate::domain::codes::Code;
use crate::labels::font::{FontId, MM_PER_PT};
use crate::labels::job::{self, JobOptions, LabelError};
use crate::labels::layout::{self, Item, Style, DEFAULT_CTA};
use crate::labels::templates::{self, Kind, Shape, Template as LabelTemplate};
use crate::store::codes::{self as code_store, CodeRecord, State as CodeState};
use crate::web::{self, render};
use crate::AppState;

/// Everything the print form sends; the same query drives the preview and
/// the downloads, so what is previewed is what prints.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PrintQuery {
    #[serde(default)]
    pub codes: String,
    #[serde(default)]
    pub all: String,
    /// A saved selection (`/admin/codes/bulk`, codes just created).
    #[serde(default)]
    pub sel: String,
    #[serde(default)]
    pub template: String,
    #[serde(default)]
    pub skip: String,
    #[serde(default)]
    pub ox: String,
    #[serde(default)]
    pub oy: String,
    pub cta: Option<String>,
    /// Smallest text, in points; empty: 6.
    #[serde(default)]
    pub min: String,
    /// Absent: the organisation's name from Settings → Кабинет.
    pub org: Option<String>,
    #[serde(default)]
    pub dpmm: String,
    // Custom sheet, in mm.
    #[serde(default)]
    pub pw: String,
    #[serde(default)]
    pub ph: String,
    #[serde(default)]
    pub cols: String,
    #[serde(default)]
    pub rows: String,
    #[serde(default)]
    pub lw: String,
    #[serde(default)]
    pub lh: String,
    #[serde(default)]
    pub top: String,
    #[serde(default)]
    pub left: String,
    #[serde(default)]
    pub hp: String,
    #[serde(default)]
    pub vp: String,
    #[serde(default)]
    pub round: String,
    pub done: Option<String>,
}

fn num(s: &str) -> Option<f32> {
    s.trim()
        .replace(',', ".")
        .parse()
        .ok()
        .filter(|v: &f32| v.is_finite())
}

impl PrintQuery {
    fn template(&self) -> Result<LabelTemplate, String> {
        if self.template == "custom" {
            let n = |s: &str, what: &str| num(s).ok_or(trf("Укажите {} в миллиметрах.", &[&what]));
            let cols = self
                .cols
                .trim()
                .parse()
                .map_err(|_| tr("Укажите число колонок.").to_owned())?;
            let rows = self
                .rows
                .trim()
                .parse()
                .map_err(|_| tr("Укажите число рядов.").to_owned())?;
            let shape = if self.round.is_empty() {
                Shape::Rect
            } else {
                Shape::Round
            };
            return LabelTemplate::custom(
                (
                    n(&self.pw, tr("ширину листа"))?,
                    n(&self.ph, tr("высоту листа"))?,
                ),
                cols,
                rows,
                (
                    n(&self.lw, tr("ширину этикетки"))?,
                    n(&self.lh, tr("высоту этикетки"))?,
                ),
                n(&self.top, tr("верхнее поле"))?,
                n(&self.left, tr("левое поле"))?,
                n(&self.hp, tr("шаг по горизонтали"))?,
                n(&self.vp, tr("шаг по вертикали"))?,
                shape,
            )
            .map_err(|e| trf("Свой шаблон: {}", &[&e]));
        }
        let id = if self.template.is_empty() {
            "avery-l7160"
        } else {
            &self.template
        };
        templates::find(id).ok_or_else(|| tr("Нет такого шаблона.").to_owned())
    }

    /// The job's options, or what the person should change (`Ok(Err)`).
    async fn options(&self, state: &AppState) -> sqlx::Result<Result<JobOptions, String>> {
        let template = match self.template() {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        };
        let saved = job::saved_offset(&state.pool, &template.id).await?;
        let offset = (
            num(&self.ox).unwrap_or(saved.0).clamp(-20.0, 20.0),
            num(&self.oy).unwrap_or(saved.1).clamp(-20.0, 20.0),
        );
        let skip = self
            .skip
            .trim()
            .parse::<usize>()
            .unwrap_or(0)
            .min(template.per_page() - 1);
        let cta = self.cta.clone().unwrap_or_else(|| DEFAULT_CTA.to_owned());
        let org = self
            .org
            .clone()
            .unwrap_or_else(|| state.org.get().name.clone());
        let org = org.trim();
        Ok(Ok(JobOptions {
            template,
            skip,
            offset,
            style: Style {
                cta: cta.chars().take(120).collect(),
                org: (!org.is_empty()).then(|| org.chars().take(80).collect()),
                min_pt: self.min_pt(),
            },
        }))
    }

    fn min_pt(&self) -> f32 {
        num(&self.min)
            .unwrap_or(layout::DEFAULT_MIN_PT)
            .clamp(*layout::MIN_PT_RANGE.start(), *layout::MIN_PT_RANGE.end())
    }

    async fn records(&self, state: &AppState) -> Result<Vec<CodeRecord>, LabelError> {
        if !self.all.is_empty() {
            let all = code_store::list(&state.pool).await?;
            return Ok(all
                .into_iter()
                .filter(|c| c.state == CodeState::Active)
                .collect());
        }
        let chosen;
        let codes: Vec<Code> = if !self.sel.is_empty() {
            chosen = code_store::selection(&state.pool, &self.sel, crate::store::now_ms()).await?;
            chosen.ok_or(LabelError::SelectionExpired)?
        } else {
            self.codes.split(',').filter_map(Code::parse).collect()
        };
        let mut out = Vec::new();
        for code in codes {
            if let Some(r) = code_store::get(&state.pool, &code).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// This query as a string, to reuse for the preview and downloads.
    fn encoded(&self) -> String {
        let e = super::query::urlencode;
        let cta = self.cta.clone().unwrap_or_else(|| DEFAULT_CTA.to_owned());
        let pairs = [
            ("codes", &self.codes),
            ("all", &self.all),
            ("sel", &self.sel),
            ("template", &self.template),
            ("skip", &self.skip),
            ("ox", &self.ox),
            ("oy", &self.oy),
            ("cta", &cta),
            ("min", &self.min),
            ("org", &self.org.clone().unwrap_or_default()),
            ("pw", &self.pw),
            ("ph", &self.ph),
            ("cols", &self.cols),
            ("rows", &self.rows),
            ("lw", &self.lw),
            ("lh", &self.lh),
            ("top", &self.top),
            ("left", &self.left),
            ("hp", &self.hp),
            ("vp", &self.vp),
            ("round", &self.round),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", e(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

#[derive(Template)]
#[template(path = "admin/print.html")]
struct PrintPage {
    f: Frame,
    q: PrintQuery,
    query: String,
    sheets: Vec<LabelTemplate>,
    rolls: Vec<LabelTemplate>,
    count: usize,
    error: Option<String>,
    warning: Option<String>,
    offset: (f32, f32),
    template_id: String,
    cta: String,
    min_pt: f32,
    pages: usize,
    per_page: usize,
}

pub async fn page(
    State(state): State<AppState>,
    Staff(s): Staff,
    Query(mut q): Query<PrintQuery>,
) -> web::Result {
    q.org.get_or_insert_with(|| state.org.get().name.clone());
    let (records, expired) = match q.records(&state).await {
        Ok(r) => (r, None),
        Err(e @ LabelError::SelectionExpired) => (Vec::new(), super::label_message(&e)),
        Err(e) => return Err(e.into()),
    };
    let (opts, error) = match q.options(&state).await? {
        Ok(o) => (Some(o), None),
        Err(e) => (None, Some(e)),
    };
    let mut warning = None;
    let mut error = expired.or(error);
    if let Some(o) = &opts {
        if let Err(e) = job::check_count(records.len()) {
            if !records.is_empty() {
                error = super::label_message(&e);
            }
        } else {
            // Lay the whole job out as it will print, to warn before download.
            let contents = job::contents(&state.pool, &state.public_url, &records).await?;
            let (template, style, skip, offset) =
                (o.template.clone(), o.style.clone(), o.skip, o.offset);
            let laid = tokio::task::spawn_blocking(move || {
                layout::sheets(&template, &contents, &style, skip, offset)
                    .map(|(_, fit)| (fit, contents))
            })
            .await
            .map_err(anyhow::Error::from)?;
            if let Ok((fit, contents)) = laid {
                let mut texts = Vec::new();
                if let Some(small) = fit.smallest.filter(|f| f.module_mm < 0.4) {
                    texts.push(trf("Модуль QR-кода на этой этикетке {} мм: телефоны могут не прочитать код меньше 0,4 мм. Выберите этикетку крупнее.", &[&format!("{:.2}", small.module_mm)]));
                }
                if !fit.shortened.is_empty() {
                    let n = fit.shortened.len() as i64;
                    let mut named: Vec<String> = fit
                        .shortened
                        .iter()
                        .take(5)
                        .map(|&i| {
                            let c = &contents[i];
                            if c.title.trim().is_empty() {
                                c.code.clone()
                            } else {
                                format!("«{}» ({})", c.title, c.code)
                            }
                        })
                        .collect();
                    if fit.shortened.len() > named.len() {
                        named.push("…".into());
                    }
                    texts.push(trf("На {} {} текст не помещается крупнее {} pt и сокращён «…» или опущен: {}. Выберите этикетку крупнее или сократите подпись.", &[&n, &super::noun(n, &["этикетке", "этикетках", "этикетках"]), &o.style.min_pt, &named.join(", ")]));
                }
                if !texts.is_empty() {
                    warning = Some(texts.join(" "));
                }
            }
        }
    }
    // A withdrawn sticker printed again would only say "no longer in use".
    let withdrawn: Vec<String> = records
        .iter()
        .filter(|r| r.state == CodeState::Revoked)
        .map(|r| layout::display_code(r.code.as_str()))
        .collect();
    if !withdrawn.is_empty() {
        let n = withdrawn.len() as i64;
        let mut shown: Vec<String> = withdrawn.iter().take(5).cloned().collect();
        if withdrawn.len() > 5 {
            shown.push("…".into());
        }
        let text = trf("Среди выбранных {} {} или {}: {}. Их наклейки не примут заявки — уберите их из печати, если это не нужно.", &[&n, &super::noun(n, &["отключённый", "отключённых", "отключённых"]), &super::noun(n, &["заменённый код", "заменённых кода", "заменённых кодов"]), &shown.join(", ")]);
        warning = Some(match warning {
            Some(w) => format!("{w} {text}"),
            None => text,
        });
    }
    let all = templates::builtin();
    let (sheets, rolls): (Vec<_>, Vec<_>) = all.into_iter().partition(|t| t.kind == Kind::Sheet);
    let per_page = opts.as_ref().map(|o| o.template.per_page()).unwrap_or(1);
    let skip = opts.as_ref().map(|o| o.skip).unwrap_or(0);
    let page = PrintPage {
        f: Frame::new(&s, tr("Печать этикеток"), "print").with_notice(notice(q.done.as_deref())),
        query: q.encoded(),
        sheets,
        rolls,
        count: records.len(),
        pages: (records.len() + skip).div_ceil(per_page),
        per_page,
        error,
        warning,
        offset: opts.as_ref().map(|o| o.offset).unwrap_or((0.0, 0.0)),
        template_id: opts
            .as_ref()
            .map(|o| o.template.id.clone())
            .unwrap_or_default(),
        cta: q.cta.clone().unwrap_or_else(|| DEFAULT_CTA.to_owned()),
        min_pt: q.min_pt(),
        q,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn job_parts(
    state: &AppState,
    q: &PrintQuery,
) -> web::Result<(Vec<layout::LabelContent>, JobOptions)> {
    let opts = q.options(state).await?.map_err(|e| refused(&e))?;
    let records = q
        .records(state)
        .await
        .map_err(|e| match super::label_message(&e) {
            Some(text) => refused(&text),
            None => e.into(),
        })?;
    let labels = job::contents(&state.pool, &state.public_url, &records).await?;
    Ok((labels, opts))
}

pub async fn pdf(
    State(state): State<AppState>,
    Staff(_): Staff,
    Query(q): Query<PrintQuery>,
) -> web::Result {
    let (labels, opts) = job_parts(&state, &q).await?;
    // Rendering a big job is CPU work: keep it off the async threads.
    let name = format!("labels-{}.pdf", opts.template.id);
    let _permit = state
        .media_permits
        .acquire()
        .await
        .map_err(anyhow::Error::from)?;
    let (bytes, _) = crate::heavy::media()
        .run(move || job::sheet_pdf(&labels, &opts))
        .await
        .ok_or_else(|| anyhow::anyhow!("the label sheet's render failed"))??;
    Ok(pdf_response(bytes, &name))
}

pub async fn zpl(
    State(state): State<AppState>,
    Staff(_): Staff,
    Query(q): Query<PrintQuery>,
) -> web::Result {
    let (labels, opts) = job_parts(&state, &q).await?;
    let dpmm = q.dpmm.trim().parse().unwrap_or(8);
    let text = job::zpl(&labels, &opts, dpmm)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"labels-{}.zpl\"", opts.template.id),
            ),
        ],
        text,
    )
        .into_response())
}

pub async fn align(
    State(state): State<AppState>,
    Staff(_): Staff,
    Query(q): Query<PrintQuery>,
) -> web::Result {
    let opts = q.options(&state).await?.map_err(|e| refused(&e))?;
    let bytes = job::alignment_pdf(&opts.template, opts.offset)?;
    Ok(pdf_response(
        bytes,
        &format!("align-{}.pdf", opts.template.id),
    ))
}

#[derive(Deserialize, Validate)]
pub struct CalibrationForm {
    #[serde(default)]
    #[validate(custom(function = "known_template"))]
    template: String,
    #[serde(default)]
    #[validate(custom(function = "offset_mm"))]
    ox: String,
    #[serde(default)]
    #[validate(custom(function = "offset_mm"))]
    oy: String,
    #[serde(default)]
    back: String,
}

fn known_template(id: &str) -> Result<(), ValidationError> {
    templates::find(id)
        .map(|_| ())
        .ok_or_else(|| ValidationError::new("template"))
}

/// A printer offset in millimetres, within 20 mm either way.
fn offset_mm(s: &str) -> Result<(), ValidationError> {
    match num(s) {
        None => Err(ValidationError::new("offset_number")),
        Some(v) if v.abs() > 20.0 => Err(ValidationError::new("offset_range")),
        Some(_) => Ok(()),
    }
}

/// Saves the printer offset for a template; later jobs use it by default.
pub async fn save_calibration(
    State(state): State<AppState>,
    AdminForm { form, .. }: AdminForm<CalibrationForm>,
) -> web::Result {
    form.validate().map_err(|e| refused(super::problem(&e)))?;
    let (x, y) = (num(&form.ox).unwrap_or(0.0), num(&form.oy).unwrap_or(0.0));
    job::save_offset(&state.pool, &form.template, (x, y)).await?;
    // Back to the same print settings, now using the saved offset.
    let back: String = form
        .back
        .chars()
        .filter(|c| !c.is_control() && *c != '#')
        .collect();
    Ok(Redirect::to(&format!("/admin/print?{back}&done=calibrated")).into_response())
}

struct SvgQr {
    x: f32,
    y: f32,
    m: f32,
    d: String,
}

struct SvgText {
    x: f32,
    y: f32,
    size: f32,
    family: &'static str,
    weight: &'static str,
    text: String,
}

struct SvgRect {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
    round: bool,
}

#[derive(Template)]
#[template(path = "admin/preview.svg", escape = "html")]
struct PreviewSvg {
    w: f32,
    h: f32,
    slots: Vec<SvgRect>,
    qrs: Vec<SvgQr>,
    texts: Vec<SvgText>,
}

/// The first sheet as an SVG, drawn from the same layout as the PDF.
pub async fn preview(
    State(state): State<AppState>,
    Staff(_): Staff,
    Query(q): Query<PrintQuery>,
) -> web::Result {
    let (labels, opts) = job_parts(&state, &q).await?;
    let first_page: Vec<_> = labels
        .into_iter()
        .take(opts.template.per_page().saturating_sub(opts.skip))
        .collect();
    let (pages, _) = layout::sheets(
        &opts.template,
        &first_page,
        &opts.style,
        opts.skip,
        opts.offset,
    )?;
    let Some(page) = pages.into_iter().next() else {
        return Err(refused(tr("Нечего показывать.")));
    };
    let t = &opts.template;
    let slots = (0..t.per_page())
        .map(|i| {
            let s = t.slot(i, opts.offset);
            SvgRect {
                x: s.x,
                y: s.y,
                w: s.w,
                h: s.h,
                round: t.shape == Shape::Round,
            }
        })
        .collect();
    let mut qrs = Vec::new();
    let mut texts = Vec::new();
    for item in page.items {
        match item {
            Item::Qr { x, y, size, matrix } => {
                let modules = (matrix.width + 2 * crate::labels::qr::QUIET_ZONE) as f32;
                let q = crate::labels::qr::QUIET_ZONE;
                let d: String = matrix
                    .runs()
                    .iter()
                    .map(|(rx, ry, len)| format!("M{} {}h{len}v1h-{len}z", rx + q, ry + q))
                    .collect();
                qrs.push(SvgQr {
                    x,
                    y,
                    m: size / modules,
                    d,
                });
            }
            Item::Text {
                x,
                y,
                size_pt,
                font,
                text,
            } => texts.push(SvgText {
                x,
                y,
                size: size_pt * MM_PER_PT,
                family: if font == FontId::Mono {
                    "DejaVu Sans Mono, monospace"
                } else {
                    "DejaVu Sans Condensed, Arial Narrow, sans-serif"
                },
                weight: if font == FontId::Regular {
                    "normal"
                } else {
                    "bold"
                },
                text,
            }),
            Item::Outline { .. } | Item::Line { .. } => {}
        }
    }
    let svg = PreviewSvg {
        w: page.w,
        h: page.h,
        slots,
        qrs,
        texts,
    };
    let body = svg.render().map_err(anyhow::Error::from)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], body).into_response())
}
