//! qrdesk's own equipment catalog, for task systems that have none
//! (Bitrix24): assets added by hand, from the command line or from a CSV
//! file, with their sites (участки) and addresses.

use crate::backend::AssetId;
use crate::store::catalog::{add_own_assets, OwnAsset};
use crate::store::{self, Pool};

/// Longest name, site, address, serial or inventory number kept.
pub const MAX_FIELD_CHARS: usize = 300;
/// Most rows one CSV import takes.
pub const MAX_ROWS: usize = 20_000;

/// What is wrong with one asset's fields, in Russian and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: &'static str,
    pub ru: String,
    pub en: String,
}

fn clean(v: Option<&str>) -> Option<String> {
    v.map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
}

/// Checks and tidies one asset (spaces collapsed, empty fields dropped).
pub fn validate(
    name: Option<&str>,
    site: Option<&str>,
    address: Option<&str>,
    serial: Option<&str>,
    inventory: Option<&str>,
) -> Result<OwnAsset, Vec<Problem>> {
    let a = OwnAsset {
        name: clean(name).unwrap_or_default(),
        site: clean(site),
        address: clean(address),
        serial_number: clean(serial),
        inventory_number: clean(inventory),
    };
    let mut problems = Vec::new();
    if a.name.is_empty() {
        problems.push(Problem {
            field: "name",
            ru: "Укажите название оборудования".into(),
            en: "Give the equipment's name".into(),
        });
    }
    for (field, value) in [
        ("name", Some(&a.name)),
        ("site", a.site.as_ref()),
        ("address", a.address.as_ref()),
        ("serial", a.serial_number.as_ref()),
        ("inventory", a.inventory_number.as_ref()),
    ] {
        let n = value.map_or(0, |v| v.chars().count());
        if n > MAX_FIELD_CHARS {
            problems.push(Problem {
                field,
                ru: format!("Не длиннее {MAX_FIELD_CHARS} знаков (сейчас {n})"),
                en: format!("At most {MAX_FIELD_CHARS} characters (now {n})"),
            });
        }
        if value.is_some_and(|v| v.chars().any(char::is_control)) {
            problems.push(Problem {
                field,
                ru: "Уберите управляющие символы".into(),
                en: "Remove the control characters".into(),
            });
        }
    }
    if problems.is_empty() {
        Ok(a)
    } else {
        Err(problems)
    }
}

/// Adds one checked asset.
pub async fn create(pool: &Pool, asset: &OwnAsset) -> anyhow::Result<AssetId> {
    let ids = add_own_assets(pool, std::slice::from_ref(asset), store::now_ms()).await?;
    Ok(ids[0])
}

/// One row of a CSV file as read: its line number, and the asset or what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub fields: [String; 5],
    pub result: Result<OwnAsset, Vec<Problem>>,
}

/// A CSV file read for import: every row, or why the file cannot be read.
#[derive(Debug, Clone, Default)]
pub struct Preview {
    pub rows: Vec<Row>,
    /// Why the file as a whole cannot be taken (no name column, too many rows).
    pub refusal: Option<Problem>,
}

impl Preview {
    pub fn good(&self) -> Vec<OwnAsset> {
        self.rows
            .iter()
            .filter_map(|r| r.result.as_ref().ok().cloned())
            .collect()
    }

    pub fn bad(&self) -> usize {
        self.rows.iter().filter(|r| r.result.is_err()).count()
    }
}

/// Splits CSV text into records: `,` or `;` (whichever the header uses
/// more), fields in double quotes may hold the separator, quotes (doubled)
/// and line breaks. Returns each record with the line it starts on.
pub fn records(text: &str) -> Vec<(usize, Vec<String>)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let header = text.lines().next().unwrap_or("");
    let sep = if header.matches(';').count() > header.matches(',').count() {
        ';'
    } else {
        ','
    };
    let mut out = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut line, mut start) = (false, 1usize, 1usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if field.is_empty() => quoted = true,
            c if c == sep && !quoted => record.push(std::mem::take(&mut field)),
            '\r' if !quoted => {}
            '\n' => {
                line += 1;
                if quoted {
                    field.push('\n');
                } else {
                    record.push(std::mem::take(&mut field));
                    if record.iter().any(|f| !f.trim().is_empty()) {
                        out.push((start, std::mem::take(&mut record)));
                    } else {
                        record.clear();
                    }
                    start = line;
                }
            }
            c => field.push(c),
        }
    }
    record.push(field);
    if record.iter().any(|f| !f.trim().is_empty()) {
        out.push((start, record));
    }
    out
}

/// The column a header names, in Russian or English.
fn column(header: &str) -> Option<usize> {
    let h = header.trim().to_lowercase();
    let h = h.trim_matches('"');
    Some(match h {
        "name" | "название" | "наименование" | "оборудование" => 0,
        "site" | "участок" | "объект" => 1,
        "address" | "адрес" => 2,
        "serial" | "serial number" | "серийный номер" | "s/n" | "sn" => 3,
        "inventory" | "inventory number" | "инвентарный номер" | "инв. №" | "инв. номер" => {
            4
        }
        _ => return None,
    })
}

/// Reads a CSV file for import; nothing is stored.
pub fn preview(text: &str) -> Preview {
    let mut records = records(text).into_iter();
    let Some((_, header)) = records.next() else {
        return Preview {
            refusal: Some(Problem {
                field: "file",
                ru: "Файл пуст: первая строка — заголовки (название, участок, адрес, серийный номер, инвентарный номер)".into(),
                en: "The file is empty: the first line names the columns (name, site, address, serial, inventory)".into(),
            }),
            ..Preview::default()
        };
    };
    let map: Vec<Option<usize>> = header.iter().map(|h| column(h)).collect();
    if !map.contains(&Some(0)) {
        return Preview {
            refusal: Some(Problem {
                field: "file",
                ru: "Нет столбца «название» (name): первая строка должна называть столбцы".into(),
                en: "No \"name\" column: the first line must name the columns".into(),
            }),
            ..Preview::default()
        };
    }
    let records: Vec<_> = records.collect();
    if records.len() > MAX_ROWS {
        return Preview {
            refusal: Some(Problem {
                field: "file",
                ru: format!(
                    "В файле {} строк, за раз можно до {MAX_ROWS}: разделите его",
                    records.len()
                ),
                en: format!(
                    "The file has {} rows, at most {MAX_ROWS} at a time: split it",
                    records.len()
                ),
            }),
            ..Preview::default()
        };
    }
    let rows = records
        .into_iter()
        .map(|(line, record)| {
            let mut fields: [String; 5] = Default::default();
            for (i, value) in record.into_iter().enumerate() {
                if let Some(Some(col)) = map.get(i) {
                    fields[*col] = value;
                }
            }
            let get = |i: usize| Some(fields[i].as_str());
            let result = validate(get(0), get(1), get(2), get(3), get(4));
            Row {
                line,
                fields,
                result,
            }
        })
        .collect();
    Preview {
        rows,
        refusal: None,
    }
}

/// Reads a CSV file for import (`qrdesk assets import`): refused when it is
/// not UTF-8 or cannot be taken as a whole; nothing is stored.
pub fn read_file(path: &std::path::Path) -> anyhow::Result<Preview> {
    use anyhow::Context;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!("{} is not UTF-8 text: save it as CSV UTF-8", path.display())
    })?;
    let preview = preview(&text);
    if let Some(p) = &preview.refusal {
        anyhow::bail!("{}", p.en);
    }
    Ok(preview)
}

/// Stores the good rows of a preview; returns how many were added.
pub async fn import(pool: &Pool, preview: &Preview) -> anyhow::Result<usize> {
    let good = preview.good();
    let mut added = 0;
    for chunk in good.chunks(500) {
        added += add_own_assets(pool, chunk, store::now_ms()).await?.len();
    }
    Ok(added)
}

/// A small demo catalog for the Bitrix24 simulator.
pub async fn seed_demo(pool: &Pool) -> anyhow::Result<usize> {
    let demo = [
        (
            "Насос циркуляционный Grundfos UPS 32-80",
            "Котельная",
            "Москва, ул. Лесная, 5, котельная",
            "GF-32-80-0117",
            "ИНВ-0042",
        ),
        (
            "Кондиционер Daikin FTXB35C",
            "Офис",
            "Москва, ул. Лесная, 5, 3 этаж, переговорная",
            "DK-35C-88231",
            "ИНВ-0107",
        ),
        (
            "Лифт пассажирский OTIS Gen2",
            "Офис",
            "Москва, ул. Лесная, 5, подъезд 1",
            "OT-G2-5512",
            "ИНВ-0003",
        ),
        (
            "Кофемашина Jura WE8",
            "Офис",
            "Москва, ул. Лесная, 5, 3 этаж, кухня",
            "JW8-190233",
            "",
        ),
        (
            "Холодильная витрина Polair DM105",
            "Склад",
            "Подольск, ул. Складская, 12",
            "PL-DM105-771",
            "ИНВ-0230",
        ),
    ];
    let assets: Vec<OwnAsset> = demo
        .iter()
        .map(|(n, s, a, sn, inv)| OwnAsset {
            name: (*n).into(),
            site: Some((*s).into()),
            address: Some((*a).into()),
            serial_number: Some((*sn).into()).filter(|v: &String| !v.is_empty()),
            inventory_number: Some((*inv).into()).filter(|v: &String| !v.is_empty()),
        })
        .collect();
    Ok(add_own_assets(pool, &assets, store::now_ms()).await?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_file_is_read_with_either_separator_quotes_and_russian_headers() {
        let text = "\u{feff}Название;Участок;Адрес;Серийный номер\r\n\
                    \"Насос; главный\";Котельная;\"ул. Лесная, 5\";SN-1\r\n\
                    ;Офис;;\r\n\
                    \"Кран \"\"Б\"\"\nвторой\";;;\r\n";
        let p = preview(text);
        assert!(p.refusal.is_none());
        assert_eq!(p.rows.len(), 3);
        let first = p.rows[0].result.as_ref().unwrap();
        assert_eq!(first.name, "Насос; главный");
        assert_eq!(first.site.as_deref(), Some("Котельная"));
        assert_eq!(first.address.as_deref(), Some("ул. Лесная, 5"));
        assert_eq!(first.serial_number.as_deref(), Some("SN-1"));
        assert_eq!(p.rows[1].line, 3);
        assert_eq!(p.rows[1].result.as_ref().unwrap_err()[0].field, "name");
        assert_eq!(p.rows[2].result.as_ref().unwrap().name, "Кран \"Б\" второй");
        assert_eq!((p.good().len(), p.bad()), (2, 1));
        let english = preview("name,site\nPump,Boiler room\n");
        assert_eq!(english.good()[0].site.as_deref(), Some("Boiler room"));
        assert!(preview("serial\nSN-1\n").refusal.is_some());
        assert!(preview("").refusal.is_some());
    }

    #[test]
    fn fields_are_bounded() {
        let long = "я".repeat(MAX_FIELD_CHARS + 1);
        let e = validate(Some("Насос"), Some(&long), None, None, None).unwrap_err();
        assert_eq!(e[0].field, "site");
        assert!(validate(Some("  Насос   2 "), None, Some(""), None, None)
            .is_ok_and(|a| a.name == "Насос 2" && a.address.is_none()));
    }
}
