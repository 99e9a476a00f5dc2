//! Tools: xmllint and the OASIS CAP 1.2 schema.

use super::*;

pub(crate) fn cap_xsd() -> PathBuf {
    let path = match std::env::var_os("VIGIL_CAP_XSD") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/standards/cap-1.2.xsd"),
    };
    assert!(
        path.is_file(),
        "the OASIS CAP 1.2 schema is not at {}: these tests need shared/standards/cap-1.2.xsd \
         beside the repository, or VIGIL_CAP_XSD set to the schema's path",
        path.display()
    );
    path
}

pub(crate) fn require_xmllint() {
    let ok = Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "xmllint is not on PATH: it checks every CAP document against the OASIS schema; \
         install libxml2-utils (Debian/Ubuntu: apt-get install libxml2-utils; .ci/run does)"
    );
}

/// Files per xmllint call: one process and one schema compilation for many documents.
pub(crate) const XMLLINT_BATCH: usize = 500;

/// Validates CAP files against the schema, many per xmllint call. Returns how many validated,
/// or xmllint's messages and the first refused document.
pub(crate) fn xmllint(files: &[PathBuf]) -> Result<usize, String> {
    require_xmllint();
    let xsd = cap_xsd();
    for chunk in files.chunks(XMLLINT_BATCH) {
        let out = Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&xsd)
            .args(chunk)
            .output()
            .expect("xmllint runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let validated = stderr.lines().filter(|l| l.ends_with(" validates")).count();
        if !out.status.success() || validated != chunk.len() {
            let refused = stderr
                .lines()
                .find_map(|l| l.strip_suffix(" fails to validate"))
                .map(|f| std::fs::read_to_string(f).unwrap_or_default())
                .unwrap_or_default();
            let head: String = stderr.chars().take(4000).collect();
            return Err(format!(
                "xmllint refused CAP documents ({validated} of {} validated):\n{head}\n\
                 first refused document:\n{refused}",
                chunk.len()
            ));
        }
    }
    Ok(files.len())
}

pub(crate) fn validate_cap_files(files: &[PathBuf]) -> usize {
    xmllint(files).unwrap_or_else(|e| panic!("{e}"))
}

/// Validates CAP documents held in memory: writes them to a temporary folder first.
pub(crate) fn validate_cap_documents(docs: &[String]) -> Result<usize, String> {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = docs
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let path = dir.path().join(format!("{i:05}.xml"));
            std::fs::write(&path, doc).unwrap();
            path
        })
        .collect();
    xmllint(&files)
}
