//! Loading the configuration: the shipped files, and located errors.
use super::*;

#[test]
fn shipped_config_loads() {
    let loaded = load(Path::new("config")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.taxonomy.risk_factors.len(), 14);
    assert!(!loaded.rules.is_empty());
    assert_eq!(loaded.settings.import.date_order, DateOrder::Auto);
}

#[test]
fn date_order_is_read_from_the_file_and_refuses_unknown_values() {
    let dir = std::env::temp_dir().join(format!("vigil-date-order-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("vigil.toml");
    std::fs::write(&path, "[import]\ndate_order = \"mdy\"\n").unwrap();
    let settings = load_settings(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings.import_options().date_order, DateOrder::Mdy);
    assert_eq!(settings.import_options().max_code_bytes, 64);
    std::fs::write(&path, "[import]\ndate_order = \"ymd\"\n").unwrap();
    let issue = load_settings(&path).unwrap_err();
    assert_eq!(issue.line, Some(2), "{issue}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn earliest_event_time_before_year_1_is_refused() {
    let dir = std::env::temp_dir().join(format!("vigil-earliest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = std::fs::canonicalize("config").unwrap();
    let files = format!(
        "[files]\ntaxonomy = {:?}\nrules = {:?}\nsubscribers = {:?}\n",
        shipped.join("taxonomy.toml"),
        shipped.join("rules.toml"),
        shipped.join("subscribers.toml")
    );
    for (earliest, ok) in [
        ("0001-01-01T00:00:00Z", true),
        ("0000-12-31T23:59:59Z", false),
    ] {
        std::fs::write(
            dir.join("vigil.toml"),
            format!("[limits]\nearliest_event_time = \"{earliest}\"\n{files}"),
        )
        .unwrap();
        match load(&dir) {
            Ok(_) => assert!(ok, "{earliest} accepted"),
            Err(e) => {
                assert!(!ok, "{e}");
                assert!(e.to_string().contains("limits.earliest_event_time"), "{e}");
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn locate_finds_nested_fields() {
    let text = "[[rule]]\nname = \"a\"\n\n[[rule]]\nname = \"b\"\nwindow = \"x\"\n";
    assert_eq!(locate(text, "rule[1].window"), Some(6));
    assert_eq!(locate(text, "rule[0].name"), Some(2));
    let text = "[[risk_factor]]\ncode = \"RF1\"\nindicators = [\n  { id = \"1.1\" },\n  { id = \"x\" },\n]\n";
    assert_eq!(locate(text, "risk_factor[0].indicators[1].id"), Some(5));
}
