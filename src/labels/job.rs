//! A print job: which codes, what each label says (from the local catalog),
//! and the files that come out — shared by the admin pages and the CLI.

use super::layout::{self, display_code, JobFit, LabelContent, PosterSize, PosterText, Style};
use super::templates::{Template, MAX_LABELS_PER_JOB};
use super::{pdf, zpl};
use crate::domain::codes::Code;
use crate::store::codes::{CodeRecord, Target};
use crate::store::{self, catalog, Pool};

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("{0} labels in one job is more than the limit of {MAX_LABELS_PER_JOB}: print them in several jobs")]
    TooMany(usize),
    #[error("no codes to print: choose at least one code")]
    Empty,
    #[error("the selection of codes is more than a day old: choose the codes again")]
    SelectionExpired,
    #[error(transparent)]
    Qr(#[from] super::qr::QrError),
    #[error(transparent)]
    Pdf(#[from] pdf::PdfError),
    #[error("the archive would be larger than {} MB: choose fewer codes or a smaller size", .0 / 1_000_000)]
    TooLarge(u64),
    #[error("cannot write the archive: {0}")]
    Write(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

#[derive(Debug, Clone)]
pub struct JobOptions {
    pub template: Template,
    /// Labels already used on the first sheet.
    pub skip: usize,
    /// Printer calibration (x, y) in mm.
    pub offset: (f32, f32),
    pub style: Style,
}

pub fn check_count(n: usize) -> Result<(), LabelError> {
    match n {
        0 => Err(LabelError::Empty),
        n if n > MAX_LABELS_PER_JOB => Err(LabelError::TooMany(n)),
        _ => Ok(()),
    }
}

/// What the label of `record` says: the asset with its serial and inventory
/// numbers, or the site with its address.
pub async fn content(
    pool: &Pool,
    public_url: &str,
    record: &CodeRecord,
) -> Result<LabelContent, sqlx::Error> {
    let (title, details) = match record.target {
        Target::Asset(id) => match catalog::asset(pool, id).await? {
            Some(a) => {
                let ids: Vec<String> = [
                    a.serial_number.map(|s| format!("S/N {s}")),
                    a.inventory_number.map(|i| format!("Инв. № {i}")),
                ]
                .into_iter()
                .flatten()
                .collect();
                (a.name, (!ids.is_empty()).then(|| ids.join(" · ")))
            }
            None => (format!("Asset {id}"), None),
        },
        Target::Location(id) => match catalog::location(pool, id).await? {
            Some(l) => (
                l.description.unwrap_or_else(|| l.address.clone()),
                Some(l.address),
            ),
            None => (format!("Location {id}"), None),
        },
        Target::District(id) => match catalog::district(pool, id).await? {
            Some(d) => (d.name, None),
            None => (format!("District {id}"), None),
        },
        Target::Unassigned => (String::new(), None),
    };
    let title = record
        .label
        .clone()
        .filter(|l| !l.trim().is_empty())
        .unwrap_or(title);
    Ok(LabelContent {
        url: record.code.qr_url(public_url),
        code: display_code(record.code.as_str()),
        title,
        details,
    })
}

pub async fn contents(
    pool: &Pool,
    public_url: &str,
    records: &[CodeRecord],
) -> Result<Vec<LabelContent>, LabelError> {
    check_count(records.len())?;
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        out.push(content(pool, public_url, r).await?);
    }
    Ok(out)
}

/// The sheet (or roll) PDF, with the smallest QR module printed and the
/// labels whose text was cut.
pub fn sheet_pdf(
    labels: &[LabelContent],
    opts: &JobOptions,
) -> Result<(Vec<u8>, JobFit), LabelError> {
    check_count(labels.len())?;
    let (pages, fit) = layout::sheets(&opts.template, labels, &opts.style, opts.skip, opts.offset)?;
    let title = format!("qrdesk — {}", opts.template.name);
    Ok((pdf::render(&pages, &title)?, fit))
}

pub fn zpl(
    labels: &[LabelContent],
    opts: &JobOptions,
    dots_per_mm: u32,
) -> Result<String, LabelError> {
    check_count(labels.len())?;
    Ok(zpl::render(
        &opts.template,
        labels,
        dots_per_mm,
        &opts.style.cta,
        opts.style.min_pt,
    )?)
}

/// The one-page test print for lining a sheet up with the printer.
pub fn alignment_pdf(template: &Template, offset: (f32, f32)) -> Result<Vec<u8>, LabelError> {
    let lines = vec![
        format!("Тестовая печать: {}", template.name),
        "Печатайте в масштабе 100 % («Фактический размер»).".to_owned(),
        "Наложите лист на лист с этикетками на просвет: крестики должны быть в центре этикеток.".to_owned(),
        format!("Текущее смещение: X {:+.1} мм, Y {:+.1} мм. Линейка внизу — 50 мм.", offset.0, offset.1),
        "Print at 100 % (Actual size); hold against a label sheet; crosses should sit in the label centres.".to_owned(),
    ];
    let page = layout::alignment_page(template, offset, &lines);
    Ok(pdf::render(&[page], "qrdesk — alignment test")?)
}

/// A site poster for `record`: big QR, the site, short instructions.
pub async fn poster_pdf(
    pool: &Pool,
    public_url: &str,
    record: &CodeRecord,
    size: PosterSize,
    english: bool,
    org: Option<&str>,
) -> Result<Vec<u8>, LabelError> {
    let c = content(pool, public_url, record).await?;
    let host = public_url
        .split_once("://")
        .map_or(public_url, |(_, h)| h)
        .trim_end_matches('/');
    let text = PosterText {
        org: org.map(str::to_owned),
        heading: "Сообщить о неисправности".into(),
        site: if c.title.is_empty() {
            "—".into()
        } else {
            c.title.clone()
        },
        address: c.details.clone().filter(|d| *d != c.title),
        steps: vec![
            "1. Наведите камеру телефона на QR-код и откройте ссылку.".into(),
            "2. Опишите, что не работает. Регистрация не нужна.".into(),
            "3. Сохраните ссылку на страницу заявки: там будет её статус.".into(),
        ],
        manual: format!("Нет камеры? Откройте {host} и введите код {}", c.code),
        english: if english {
            vec![
                "Report a problem: scan the QR code with your phone's camera, describe what is wrong — no sign-up.".into(),
                format!("No camera? Open {host} and enter the code {}.", c.code),
            ]
        } else {
            Vec::new()
        },
    };
    let page = layout::poster(size, &c.url, &text)?;
    Ok(pdf::render(&[page], &format!("qrdesk — {}", text.site))?)
}

/// Calibration offset saved for a template, (0, 0) when none.
pub async fn saved_offset(pool: &Pool, template_id: &str) -> Result<(f32, f32), sqlx::Error> {
    let value = store::get_setting(pool, &format!("calibration:{template_id}")).await?;
    Ok(value
        .and_then(|v| {
            let (x, y) = v.split_once(',')?;
            Some((x.parse().ok()?, y.parse().ok()?))
        })
        .unwrap_or((0.0, 0.0)))
}

pub async fn save_offset(
    pool: &Pool,
    template_id: &str,
    offset: (f32, f32),
) -> Result<(), sqlx::Error> {
    store::set_setting(
        pool,
        &format!("calibration:{template_id}"),
        &format!("{},{}", offset.0, offset.1),
    )
    .await
}

/// SVG and PNG of every code, for a selection download, written to `out`
/// one image at a time, so memory holds one image whatever the count;
/// refused once the archive would pass `max_bytes`.
pub fn images_zip_into<W: std::io::Write>(
    public_url: &str,
    codes: &[Code],
    dpi: u32,
    side_mm: f32,
    out: W,
    max_bytes: u64,
) -> Result<W, LabelError> {
    check_count(codes.len())?;
    let mut zip = super::zip::Writer::new(out);
    for code in codes {
        let url = code.qr_url(public_url);
        let svg = super::qr::svg(&url)?;
        let scale = super::qr::scale_for(&url, dpi, side_mm)?;
        let png = super::qr::png(&url, scale, Some(dpi))?;
        for (ext, data) in [("svg", svg.as_bytes()), ("png", &png[..])] {
            if zip.written() + data.len() as u64 > max_bytes {
                return Err(LabelError::TooLarge(max_bytes));
            }
            zip.add(&format!("{code}.{ext}"), data)
                .map_err(|e| LabelError::Write(e.to_string()))?;
        }
    }
    zip.finish().map_err(|e| LabelError::Write(e.to_string()))
}
