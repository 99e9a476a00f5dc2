//! The `cap_feed` kind: Vigil serves, for each such subscriber, an Atom 1.0 feed (RFC 4287) of
//! CAP 1.2 messages at `/cap/<name>.atom`, and each message at
//! `/cap/messages/<identifier>.xml`, as the CAP alert hubs ingest them (DESIGN, "Delivery").
//! Messages are rendered by `output/cap/` under `[cap]` (sender, status, scope, expiry, areas).
//!
//! The feeds are a view of `vigil.alerts`: every instance follows the whole topic (`follow.rs`)
//! and keeps the newest `delivery.feed_max_entries` messages of each feed in memory, rebuilt from
//! the topic at start. A record enters a feed when the subscriber's filters admit it and no
//! silence or inhibition holds it back at the time it is read.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::Writer;
use quick_xml::events::BytesText;

use super::subscriber::{Subscriber, SubscriberKind};
use crate::alert::Alert;
use crate::alert::phrasebook::{self, Language};
use crate::output::cap::{self, CapSettings};

/// One message of a feed.
#[derive(Debug, Clone)]
struct Entry {
    identifier: String,
    title: String,
    summary: String,
    updated: String,
    xml: Arc<String>,
}

/// Every CAP feed this instance serves, by subscriber name.
#[derive(Debug)]
pub struct Feeds {
    subscribers: Vec<Subscriber>,
    feeds: BTreeMap<String, VecDeque<Entry>>,
    max_entries: usize,
    cap: CapSettings,
    /// The `info` languages of every message: each language any feed's subscriber asked for,
    /// in subscriber order (English when none did). A message is one document whichever feed
    /// lists it, so it speaks every feed's languages; each feed's entry summary speaks its own.
    languages: Vec<Language>,
    /// Where links point: `delivery.feed_base_url`, else relative to the server's root.
    base_url: Option<String>,
}

impl Feeds {
    /// Empty feeds for the `cap_feed` subscribers among `subscribers`.
    pub fn new(
        subscribers: &[Subscriber],
        cap: CapSettings,
        max_entries: usize,
        base_url: Option<String>,
    ) -> Feeds {
        let subscribers: Vec<Subscriber> = subscribers
            .iter()
            .filter(|s| s.kind == SubscriberKind::CapFeed)
            .cloned()
            .collect();
        let asked: Vec<String> = subscribers
            .iter()
            .flat_map(|s| s.languages.iter().cloned())
            .collect();
        Feeds {
            languages: Language::all_of(&asked),
            feeds: subscribers
                .iter()
                .map(|s| (s.name.clone(), VecDeque::new()))
                .collect(),
            subscribers,
            max_entries: max_entries.max(1),
            cap,
            base_url,
        }
    }

    /// The feeds' subscribers.
    pub fn subscribers(&self) -> &[Subscriber] {
        &self.subscribers
    }

    /// Adds the CAP message of `alert` to feed `name` (the caller has checked filters, silences
    /// and inhibition). A message already listed (the record read twice) is not added again.
    pub fn add(&mut self, name: &str, alert: &Alert) {
        let identifier = cap::identifier(&alert.alert_id, alert.status, &alert.updated_at);
        let max = self.max_entries;
        let xml = Arc::new(cap::render_in(alert, &self.cap, &self.languages));
        let lang = self
            .subscribers
            .iter()
            .find(|s| s.name == name)
            .map_or(Language::En, |s| Language::first_of(&s.languages));
        let Some(feed) = self.feeds.get_mut(name) else {
            return;
        };
        if feed.iter().any(|e| e.identifier == identifier) {
            return;
        }
        feed.push_back(Entry {
            identifier,
            title: format!(
                "{} {} {} ({})",
                alert.severity.as_str(),
                alert.signal,
                alert.region,
                alert.status.as_str()
            ),
            summary: phrasebook::summary(alert, lang),
            updated: alert.updated_at.clone(),
            xml,
        });
        while feed.len() > max {
            feed.pop_front();
        }
    }

    /// The message with `identifier`, from whichever feed lists it.
    fn message(&self, identifier: &str) -> Option<Arc<String>> {
        self.feeds
            .values()
            .flat_map(|f| f.iter())
            .find(|e| e.identifier == identifier)
            .map(|e| Arc::clone(&e.xml))
    }

    /// Feed `name` as an Atom document, newest entry first (by `updated`, then identifier);
    /// links under `base` (empty: links relative to the server's root, resolved by readers
    /// against the feed's own URL, so that no request header chooses where they point).
    fn atom(&self, name: &str, base: &str) -> Option<String> {
        let feed = self.feeds.get(name)?;
        let mut newest: Vec<&Entry> = feed.iter().collect();
        newest.sort_by(|a, b| {
            b.updated
                .cmp(&a.updated)
                .then_with(|| b.identifier.cmp(&a.identifier))
        });
        let updated = feed
            .iter()
            .map(|e| e.updated.as_str())
            .max()
            .map(str::to_string)
            .unwrap_or_else(|| {
                DateTime::<Utc>::UNIX_EPOCH.to_rfc3339_opts(SecondsFormat::Secs, true)
            });
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        let feed_url = format!("{base}/cap/{name}.atom");
        // Writing into a Vec cannot fail.
        let _ = w
            .create_element("feed")
            .with_attribute(("xmlns", "http://www.w3.org/2005/Atom"))
            .write_inner_content(|w| {
                text(w, "id", &format!("urn:vigil:cap-feed:{name}"))?;
                text(w, "title", &format!("{} — {name}", self.cap.sender_name))?;
                text(w, "updated", &updated)?;
                w.create_element("author")
                    .write_inner_content(|w| text(w, "name", &self.cap.sender_name))?;
                w.create_element("link")
                    .with_attributes([("rel", "self"), ("href", feed_url.as_str())])
                    .write_empty()?;
                for e in newest {
                    let href = format!("{base}/cap/messages/{}.xml", e.identifier);
                    w.create_element("entry").write_inner_content(|w| {
                        text(w, "id", &format!("urn:vigil:cap:{}", e.identifier))?;
                        text(w, "title", &e.title)?;
                        text(w, "updated", &e.updated)?;
                        text(w, "summary", &e.summary)?;
                        w.create_element("link")
                            .with_attributes([
                                ("rel", "alternate"),
                                ("type", "application/cap+xml"),
                                ("href", href.as_str()),
                            ])
                            .write_empty()?;
                        Ok(())
                    })?;
                }
                Ok(())
            });
        let body = String::from_utf8(w.into_inner()).unwrap_or_default();
        Some(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}\n"
        ))
    }
}

fn text<W: std::io::Write>(w: &mut Writer<W>, name: &str, value: &str) -> std::io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

/// The routes `/cap/{name}.atom` and `/cap/messages/{identifier}.xml` over `feeds`.
pub fn routes(feeds: Arc<RwLock<Feeds>>) -> Router {
    Router::new()
        .route("/cap/{file}", get(feed))
        .route("/cap/messages/{file}", get(message))
        .with_state(feeds)
}

async fn feed(State(feeds): State<Arc<RwLock<Feeds>>>, Path(file): Path<String>) -> Response {
    let Some(name) = file.strip_suffix(".atom") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok(feeds) = feeds.read() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let base = feeds.base_url.clone().unwrap_or_default();
    match feeds.atom(name, base.trim_end_matches('/')) {
        Some(doc) => ([(header::CONTENT_TYPE, "application/atom+xml")], doc).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn message(State(feeds): State<Arc<RwLock<Feeds>>>, Path(file): Path<String>) -> Response {
    let Some(identifier) = file.strip_suffix(".xml") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok(feeds) = feeds.read() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match feeds.message(identifier) {
        Some(xml) => (
            [(header::CONTENT_TYPE, "application/cap+xml")],
            xml.as_str().to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Status;
    use crate::delivery::test_support::alert;
    use crate::rules::Severity;

    #[test]
    fn a_feed_keeps_its_newest_messages_once_each() {
        let sub: Subscriber = toml::from_str("name = \"pub\"\nkind = \"cap_feed\"").unwrap();
        let mut feeds = Feeds::new(&[sub], CapSettings::default(), 2, None);
        let mut a = alert(
            "a1",
            "NG-BO",
            "threat:abduction",
            Severity::Critical,
            Status::Firing,
        );
        feeds.add("pub", &a);
        feeds.add("pub", &a);
        assert_eq!(
            feeds.feeds["pub"].len(),
            1,
            "a record read twice is listed once"
        );
        for at in ["2026-03-07T00:00:00Z", "2026-03-08T00:00:00Z"] {
            a.updated_at = at.into();
            a.status = Status::Escalated;
            feeds.add("pub", &a);
        }
        // Read out of order (another partition): listed newest first all the same.
        a.updated_at = "2026-03-07T12:00:00Z".into();
        a.status = Status::Resolved;
        feeds.add("pub", &a);
        let doc = feeds.atom("pub", "http://h").unwrap();
        assert_eq!(feeds.feeds["pub"].len(), 2);
        assert!(doc.find("20260308").unwrap() < doc.find("20260307120000").unwrap());
        assert!(!doc.contains("20260306"), "the oldest was pushed out");
        let relative = feeds.atom("pub", "").unwrap();
        assert!(relative.contains("href=\"/cap/messages/"), "{relative}");
        assert!(doc.contains("<updated>2026-03-08T00:00:00Z</updated>"));
        assert!(feeds.atom("nope", "http://h").is_none());
        let id = cap::identifier("a1", Status::Escalated, "2026-03-08T00:00:00Z");
        assert!(feeds.message(&id).is_some());
    }
}
