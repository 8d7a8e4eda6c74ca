//! docs/errors.md lists every error code the code base can answer with.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Codes passed to `ApiError::new(StatusCode::X, "code"` / `bad_request("code"` / `not_found("code"`.
fn codes_in_source() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/crates")),
        &mut files,
    );
    rust_files(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut files,
    );
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for marker in [
            "ApiError::new(",
            "ApiError::bad_request(",
            "ApiError::not_found(",
        ] {
            for (i, _) in text.match_indices(marker) {
                let rest = &text[i + marker.len()..];
                let Some(q) = rest.find('"') else { continue };
                // Only a literal within the call's first two arguments.
                if rest[..q].contains(')') || rest[..q].matches(',').count() > 1 {
                    continue;
                }
                let code: String = rest[q + 1..].chars().take_while(|c| *c != '"').collect();
                if !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    found.push((code, f.display().to_string()));
                }
            }
        }
    }
    found
}

#[test]
fn every_error_code_is_documented() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/errors.md")).unwrap();
    let documented = |c: &str| doc.contains(&format!("`{c}`"));
    let mut missing = Vec::new();
    for (code, _) in chat_domain::ALL_CODES {
        if !documented(code) {
            missing.push(format!("{code} (domain)"));
        }
    }
    for (code, _, _) in chat_common::problem::API_CODES {
        if !documented(code) {
            missing.push(format!("{code} (API_CODES)"));
        }
    }
    for (code, file) in codes_in_source() {
        let listed = chat_common::problem::API_CODES
            .iter()
            .any(|(c, _, _)| *c == code)
            || chat_domain::ALL_CODES.iter().any(|(c, _)| *c == code);
        if !listed || !documented(&code) {
            missing.push(format!("{code} ({file})"));
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "codes missing from docs/errors.md or API_CODES: {missing:#?}"
    );
}
