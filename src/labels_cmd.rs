//! `qrdesk labels …`: templates, sheets (PDF, ZPL), posters, the alignment page.

use anyhow::Context;
use qrdesk::config::Config;
use qrdesk::domain::codes::Code;
use qrdesk::store::{self, codes as code_store};

use super::{public_url, LabelsCommand, RenderArgs};

pub async fn labels(config: Config, cmd: LabelsCommand) -> anyhow::Result<()> {
    match cmd {
        LabelsCommand::Templates { json } => label_templates(json),
        LabelsCommand::Render(args) => render_labels(&config, args).await,
        LabelsCommand::Poster {
            code,
            size,
            english,
            out,
        } => poster(&config, &code, &size, english, &out).await,
        LabelsCommand::Align { template, out } => alignment(&config, &template, &out).await,
    }
}

fn find_template(id: &str) -> anyhow::Result<qrdesk::labels::templates::Template> {
    qrdesk::labels::templates::find(id)
        .with_context(|| format!("no template `{id}`; `qrdesk labels templates` lists them"))
}

/// `qrdesk labels templates`.
fn label_templates(json: bool) -> anyhow::Result<()> {
    let all = qrdesk::labels::templates::builtin();
    if json {
        let rows: Vec<_> = all
            .iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id, "name": t.name, "kind": t.kind,
                    "page": { "width_mm": t.page_w, "height_mm": t.page_h },
                    "label": { "width_mm": t.label_w, "height_mm": t.label_h },
                    "columns": t.cols, "rows": t.rows, "shape": t.shape,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for t in all {
            println!("{:<22} {:>2}×{:<2} {}", t.id, t.cols, t.rows, t.name);
        }
    }
    Ok(())
}

/// `qrdesk labels render`: a sheet PDF or ZPL of the codes asked for.
async fn render_labels(config: &Config, args: RenderArgs) -> anyhow::Result<()> {
    use qrdesk::labels::job;
    let pool = store::open(&config.database_url(), 2).await?;
    let records = label_records(&pool, &args).await?;
    let opts = label_options(&pool, config, &args).await?;
    let contents = job::contents(&pool, &public_url(config), &records).await?;
    match args.format.as_str() {
        "pdf" => {
            let (bytes, fit) = job::sheet_pdf(&contents, &opts)?;
            std::fs::write(&args.out, bytes)
                .with_context(|| format!("cannot write {}", args.out.display()))?;
            warn_about_fit(&fit, &contents, opts.style.min_pt);
        }
        "zpl" => {
            let zpl = job::zpl(&contents, &opts, args.dpmm)?;
            std::fs::write(&args.out, zpl)
                .with_context(|| format!("cannot write {}", args.out.display()))?;
        }
        other => anyhow::bail!("unknown format `{other}`: use pdf or zpl"),
    }
    println!(
        "{} labels written to {}",
        contents.len(),
        args.out.display()
    );
    Ok(())
}

/// The codes `qrdesk labels render` prints: every active one, or those named.
async fn label_records(
    pool: &store::Pool,
    args: &RenderArgs,
) -> anyhow::Result<Vec<code_store::CodeRecord>> {
    if args.all {
        return Ok(code_store::list(pool)
            .await?
            .into_iter()
            .filter(|c| c.state == code_store::State::Active)
            .collect());
    }
    let mut out = Vec::new();
    for raw in &args.codes {
        let code = Code::parse(raw).with_context(|| format!("`{raw}` is not a code"))?;
        out.push(
            code_store::get(pool, &code)
                .await?
                .with_context(|| format!("no code {code}"))?,
        );
    }
    Ok(out)
}

/// The sheet, its offset (the saved one unless given) and the label text.
async fn label_options(
    pool: &store::Pool,
    config: &Config,
    args: &RenderArgs,
) -> anyhow::Result<qrdesk::labels::job::JobOptions> {
    use qrdesk::labels::{job, layout};
    let template = find_template(&args.template)?;
    let saved = job::saved_offset(pool, &template.id).await?;
    let org = match &args.org {
        Some(org) => Some(org.clone()),
        None => store::org(pool)
            .await?
            .or(&config.organisation)
            .name()
            .map(str::to_owned),
    };
    Ok(job::JobOptions {
        template,
        skip: args.skip,
        offset: (
            args.offset_x.unwrap_or(saved.0),
            args.offset_y.unwrap_or(saved.1),
        ),
        style: layout::Style {
            cta: args
                .cta
                .clone()
                .unwrap_or_else(|| layout::DEFAULT_CTA.to_owned()),
            org,
            min_pt: args.min_pt.clamp(4.0, 10.0),
        },
    })
}

/// Says on stderr what did not print as well as it should.
fn warn_about_fit(
    fit: &qrdesk::labels::layout::JobFit,
    contents: &[qrdesk::labels::layout::LabelContent],
    min_pt: f32,
) {
    if let Some(f) = fit.smallest.filter(|f| f.module_mm < 0.4) {
        eprintln!(
            "warning: QR modules are {:.2} mm; below 0.4 mm phones may not scan them",
            f.module_mm
        );
    }
    if fit.shortened.is_empty() {
        return;
    }
    let codes: Vec<&str> = fit
        .shortened
        .iter()
        .take(10)
        .map(|&i| contents[i].code.as_str())
        .collect();
    eprintln!(
        "warning: on {} labels text did not fit at {} pt and was cut with \"…\" ({}{})",
        fit.shortened.len(),
        min_pt,
        codes.join(", "),
        if fit.shortened.len() > codes.len() {
            ", …"
        } else {
            ""
        }
    );
}

/// `qrdesk labels poster`.
async fn poster(
    config: &Config,
    code: &str,
    size: &str,
    english: bool,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    use qrdesk::labels::{job, layout};
    let size = layout::PosterSize::parse(size).context("--size must be a4 or a5")?;
    let pool = store::open(&config.database_url(), 2).await?;
    let code = Code::parse(code).context("not a code: 8 letters and digits, e.g. 7K3M9Q2A")?;
    let record = code_store::get(&pool, &code)
        .await?
        .with_context(|| format!("no code {code}"))?;
    let org = store::org(&pool).await?.or(&config.organisation);
    let bytes = job::poster_pdf(
        &pool,
        &public_url(config),
        &record,
        size,
        english,
        org.name(),
    )
    .await?;
    std::fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
    println!("poster written to {}", out.display());
    Ok(())
}

/// `qrdesk labels align`.
async fn alignment(config: &Config, template: &str, out: &std::path::Path) -> anyhow::Result<()> {
    use qrdesk::labels::job;
    let template = find_template(template)?;
    let pool = store::open(&config.database_url(), 2).await?;
    let offset = job::saved_offset(&pool, &template.id).await?;
    std::fs::write(out, job::alignment_pdf(&template, offset)?)
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!("alignment test written to {}", out.display());
    Ok(())
}
