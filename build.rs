//! Lists the SQL migrations of each engine for `store::migrate`, so they are
//! embedded without sqlx's proc macros (which would build sqlx twice).

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let mut code = String::new();
    for (name, dir) in [("SQLITE", "sqlite"), ("POSTGRES", "postgres")] {
        let dir = Path::new(&root).join("migrations").join(dir);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<(i64, String, String)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("migration entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "sql"))
            .map(|path| {
                let file = path.file_name().unwrap().to_string_lossy().into_owned();
                let (version, rest) = file
                    .split_once('_')
                    .unwrap_or_else(|| panic!("{file}: expected VERSION_description.sql"));
                let version = version
                    .parse()
                    .unwrap_or_else(|_| panic!("{file}: the version prefix is not a number"));
                let description = rest.trim_end_matches(".sql").replace('_', " ");
                (version, description, path.display().to_string())
            })
            .collect();
        files.sort();
        writeln!(code, "const {name}: &[(i64, &str, &str)] = &[").unwrap();
        for (version, description, path) in files {
            writeln!(
                code,
                "    ({version}, {description:?}, include_str!({path:?})),"
            )
            .unwrap();
        }
        writeln!(code, "];").unwrap();
    }
    std::fs::write(Path::new(&out).join("migrations.rs"), code).expect("write migrations.rs");
}
