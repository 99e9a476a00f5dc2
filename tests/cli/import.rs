//! Exports as desks have them: ACLED CSV (with CAP and Alertmanager renderings of its alerts),
//! tab- and semicolon-separated files, import rejects counted by reason, and a file of no known
//! format refused before any record is processed.

use super::{run, summary_line, vigil};

#[test]
fn backtest_reads_acled_exports_and_writes_cap_and_alertmanager_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from(
        "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp\n",
    );
    for i in 0..7 {
        csv.push_str(&format!(
            "TST{i},2024-03-15,2024,1,Political violence,Violence against civilians,Abduction/forced disappearance,Unidentified Armed Group,,3,Civilians,,7,37,Civilian targeting,566,Western Africa,Nigeria,Borno,Gwoza,,Pulka,11.2,13.7,1,Paper {i},National,\"Gunmen abducted {} farmers near the village.\",0,,1710500000\n",
            i + 2
        ));
    }
    csv.push_str("BAD,not-a-date,2024,1,,,,,,,,,,,,,,Nigeria,Borno,,,,,,,,,,0,,\n");
    let path = dir.path().join("acled.csv");
    std::fs::write(&path, csv).unwrap();
    let cap_dir = dir.path().join("cap");
    let am_dir = dir.path().join("alertmanager");
    let out = run(vigil()
        .arg("backtest")
        .arg(&path)
        .arg("--cap-dir")
        .arg(&cap_dir)
        .arg("--alertmanager-dir")
        .arg(&am_dir));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let alerts: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cluster = alerts
        .iter()
        .rev()
        .find(|a| a["rule"] == "abduction_cluster")
        .expect("cluster alert");
    assert_eq!(cluster["region"], "Nigeria/Borno");
    assert_eq!(cluster["severity"], "warning");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 9: bad_date: event_date: not a date")
    );
    let xml: Vec<_> = std::fs::read_dir(&cap_dir).unwrap().collect();
    assert_eq!(xml.len(), alerts.len());
    // One Alertmanager webhook payload per record, for the same episodes.
    let mut payload_ids: Vec<String> = std::fs::read_dir(&am_dir)
        .unwrap()
        .map(|e| {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
            assert_eq!(v["version"], "4");
            v["alerts"][0]["annotations"]["alert_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut record_ids: Vec<String> = alerts
        .iter()
        .map(|a| a["alert_id"].as_str().unwrap().to_string())
        .collect();
    payload_ids.sort();
    record_ids.sort();
    assert_eq!(payload_ids, record_ids);
}

const ACLED_HEADER: &str = "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp";

/// An invented ACLED row with this id and date, as tab-separated fields.
fn acled_tsv_row(id: &str, date: &str) -> String {
    format!(
        "{id},{date},2025,1,Political violence,Violence against civilians,Abduction/forced disappearance,Unidentified Armed Group,,Political militia,Civilians,,Civilians,37,Civilian targeting,566,Western Africa,Nigeria,Borno,Gwoza,,Pulka,11.2,13.7,1,Daily Trust; Premium Times,National,Gunmen abducted 12 farmers near the village.,0,,1738900000"
    )
    .replace(',', "\t")
}

#[test]
fn backtest_and_tag_read_tab_separated_exports_and_count_import_rejects_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acled.tsv");
    let rows = [
        ACLED_HEADER.replace(',', "\t"),
        acled_tsv_row("TST1", "31/1/2025"),
        acled_tsv_row("TST2", "3/2/2025"),
        acled_tsv_row("TST3", "someday"),
        acled_tsv_row("TST4", "8 February 2025"),
    ];
    std::fs::write(&path, rows.join("\r\n") + "\r\n").unwrap();

    let out = run(vigil().arg("backtest").arg(&path));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "line 3: ambiguous_date: event_date: 3 February 2025 (day first) or 2 March 2025 (month first)? Set [import] date_order = \"dmy\" or \"mdy\""
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 4: bad_date: event_date: not a date"),
        "{stderr}"
    );
    for line in stderr.lines().filter(|l| l.starts_with("line ")) {
        assert_eq!(line.matches("line ").count(), 1, "{line}");
    }
    assert_eq!(
        summary_line(&stderr),
        "4 records in Xs: 2 accepted (0 late), 0 duplicates, 2 rejected [ambiguous_date=1 bad_date=1], \
         0 alert records; active alerts watch/warning/critical = [0, 0, 0]"
    );

    // The setting, through the environment like every key, resolves the ambiguous date.
    let out = run(vigil()
        .arg("backtest")
        .arg(&path)
        .env("VIGIL__IMPORT__DATE_ORDER", "dmy"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        summary_line(&stderr),
        "4 records in Xs: 3 accepted (0 late), 0 duplicates, 1 rejected [bad_date=1], \
         0 alert records; active alerts watch/warning/critical = [0, 0, 0]"
    );

    let out = run(vigil().arg("tag").arg(&path));
    let tagged: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(tagged.len(), 2);
    assert_eq!(tagged[0]["id"], "acled:TST1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tagged 2 reports (0 near-duplicates, with duplicate_of), skipped 2 bad lines [ambiguous_date=1 bad_date=1]"),
        "{stderr}"
    );
}

#[test]
fn a_file_of_no_known_format_is_refused_before_processing() {
    let dir = tempfile::tempdir().unwrap();
    // A semicolon-separated export whose columns were renamed (here: translated).
    let path = dir.path().join("export.csv");
    std::fs::write(
        &path,
        "id_evenement;date_evenement;pays;notes\nTST1;2025-02-07;Nigeria;Gunmen abducted 12 farmers.\n",
    )
    .unwrap();
    for command in ["backtest", "tag", "replay"] {
        let out = vigil().arg(command).arg(&path).output().unwrap();
        assert!(!out.status.success(), "{command} accepted the file");
        assert!(out.stdout.is_empty(), "{command} processed records");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("cannot import"), "{command}: {stderr}");
        assert!(
            stderr.contains("an ACLED export needs the columns event_id_cnty, event_date"),
            "{command}: {stderr}"
        );
        assert!(
            stderr.contains("first columns read: id_evenement, date_evenement, pays, notes"),
            "{command}: {stderr}"
        );
        assert!(!stderr.contains("line 2"), "{command}: {stderr}");
    }
}

#[test]
fn semicolon_exports_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acled-fr.csv");
    // A spreadsheet's `;` export: the outlets' `;` list quoted, a decimal comma.
    let row = acled_tsv_row("TST1", "7-Feb-25")
        .replace(
            "Daily Trust; Premium Times",
            "\"Daily Trust; Premium Times\"",
        )
        .replace("11.2", "11,2")
        .replace('\t', ";");
    std::fs::write(
        &path,
        format!("{}\n{row}\n", ACLED_HEADER.replace(',', ";")),
    )
    .unwrap();
    let out = run(vigil().arg("tag").arg(&path));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "tagged 1 reports (0 near-duplicates, with duplicate_of), skipped 0 bad lines"
        ),
        "{stderr}"
    );
}
