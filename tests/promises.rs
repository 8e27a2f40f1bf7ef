//! tests/README.md maps every promise of the README to the tests that prove it. This
//! keeps the map honest: every test it names exists (a renamed or deleted test fails
//! here), and every table row names at least one test.

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The `file::test` and `src/path.rs::test` references in a line of tests/README.md.
fn references(line: &str) -> Vec<(String, String)> {
    line.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|code| code.split_once("::"))
        .filter(|(file, name)| {
            !file.is_empty()
                && *file != "common"
                && *file != "apps"
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && file
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_/.".contains(c))
        })
        .map(|(file, name)| (file.to_string(), name.to_string()))
        .collect()
}

fn source_of(file: &str) -> String {
    let path = if file.starts_with("src/") {
        Path::new(ROOT).join(file)
    } else {
        Path::new(ROOT).join("tests").join(format!("{file}.rs"))
    };
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_test_the_promise_table_names_exists() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("tests/README.md")).unwrap();
    let mut missing = Vec::new();
    let mut rows = 0;
    for line in readme.lines() {
        if !line.starts_with("| ") || line.starts_with("| README promise") {
            continue;
        }
        let refs = references(line);
        rows += 1;
        assert!(!refs.is_empty(), "a row without a test: {line}");
        for (file, name) in refs {
            let src = source_of(&file);
            let found = src.contains(&format!("fn {name}()"));
            if !found {
                missing.push(format!("{file}::{name}"));
            }
        }
    }
    assert!(rows >= 100, "only {rows} rows");
    assert!(
        missing.is_empty(),
        "tests/README.md names tests that do not exist: {missing:?}"
    );
}
