//! The businesses are promised that settings, scheduling policies and capacity planning are
//! only read. The client's writes are enumerated in `client/writes.rs` ([`WRITES`]); this
//! checks the source itself: no other file of the client sends a mutating verb (capacity's
//! POST is a query), and every operation `writes.rs` sends is listed.

use switchboard_servicetitan::WRITES;

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/client");

/// The writes are the seven docs/servicetitan.md lists under "Writes are limited by
/// construction" (what a business is told it grants), no more.
#[test]
fn the_writes_are_exactly_the_documented_ones() {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/servicetitan.md"
    ))
    .unwrap();
    let section = docs
        .split("## Writes are limited by construction")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("docs/servicetitan.md has the writes section");
    let documented: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| write"))
        .filter_map(|l| l.split('|').nth(1))
        .flat_map(|cell| cell.split(','))
        .map(str::trim)
        .collect();
    let mut listed = WRITES.to_vec();
    listed.sort_unstable();
    let mut documented = documented;
    documented.sort_unstable();
    assert_eq!(
        listed, documented,
        "client/writes.rs and docs/servicetitan.md disagree"
    );
    assert_eq!(WRITES.len(), 7);
}

#[test]
fn no_other_file_of_the_client_writes() {
    for entry in std::fs::read_dir(CLIENT).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "writes.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            for verb in [
                "Method::POST",
                "Method::PUT",
                "Method::PATCH",
                "Method::DELETE",
            ] {
                if line.contains(verb) {
                    let capacity_query = name == "reads.rs"
                        && verb == "Method::POST"
                        && line.contains("\"query capacity\"");
                    assert!(
                        capacity_query,
                        "{name}:{}: {verb} outside writes.rs: {line}",
                        n + 1
                    );
                }
            }
        }
    }
}

#[test]
fn every_operation_writes_rs_sends_is_listed() {
    let text = std::fs::read_to_string(format!("{CLIENT}/writes.rs")).unwrap();
    let body = &text[text.find("impl TenantClient").unwrap()..];
    // Every operation name written as a string literal in the impl is one of WRITES.
    for literal in body.split('"').skip(1).step_by(2) {
        if literal.chars().all(|c| c.is_ascii_lowercase() || c == ' ') && literal.contains(' ') {
            assert!(
                WRITES.contains(&literal),
                "writes.rs sends `{literal}`, which WRITES does not list"
            );
        }
    }
}
