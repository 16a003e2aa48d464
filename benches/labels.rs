//! 1,000-label PDF: time and size, against encoding the same 1,000 QR codes
//! alone (the floor any label PDF pays) measured in the same run.
//!
//!     cargo bench --bench labels

use std::time::{Duration, Instant};

use qrdesk::domain::codes::Code;
use qrdesk::labels::job::{self, JobOptions};
use qrdesk::labels::layout::{self, display_code, LabelContent, QrMatrix, Style, DEFAULT_CTA};
use qrdesk::labels::templates;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let labels: Vec<LabelContent> = (0..1000)
        .map(|i| {
            let code = Code::generate();
            LabelContent {
                url: code.qr_url("https://qr.example.ru"),
                code: display_code(code.as_str()),
                title: format!("Кондиционер Daikin FTXM35R, помещение {i}"),
                details: Some(format!("S/N E{:06} · Инв. № ИНВ-{:06}", i * 7, i)),
            }
        })
        .collect();
    let opts = JobOptions {
        template: templates::find("avery-l7160").expect("template"),
        skip: 0,
        offset: (0.0, 0.0),
        style: Style {
            cta: DEFAULT_CTA.into(),
            org: Some("ООО «Сервис-Инжиниринг»".into()),
            min_pt: layout::DEFAULT_MIN_PT,
        },
    };

    let runs = 5;
    let mut baseline = Vec::new();
    let mut pdf_times = Vec::new();
    let mut size = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let n: usize = labels
            .iter()
            .map(|l| QrMatrix::new(&l.url).unwrap().width)
            .sum();
        baseline.push(t.elapsed());
        assert!(n > 0);

        let t = Instant::now();
        let (pdf, _) = job::sheet_pdf(&labels, &opts).expect("pdf");
        pdf_times.push(t.elapsed());
        size = pdf.len();
    }
    let (base, pdf) = (median(baseline), median(pdf_times));
    println!(
        "labels: 1000 on avery-l7160 ({} sheets), median of {runs} runs",
        1000usize.div_ceil(21)
    );
    println!(
        "  baseline, QR encoding only: {:>8.1} ms",
        base.as_secs_f64() * 1e3
    );
    println!(
        "  full PDF:                   {:>8.1} ms  ({:.2}× the baseline; target < 1000 ms)",
        pdf.as_secs_f64() * 1e3,
        pdf.as_secs_f64() / base.as_secs_f64()
    );
    println!(
        "  PDF size:                   {:>8.1} KB  (target < 2048 KB)",
        size as f64 / 1024.0
    );
}
