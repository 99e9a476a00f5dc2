//! The `email` kind: one plain-text message per group notification, by SMTP (`[delivery.smtp]`:
//! STARTTLS required by default, credentials from the environment), in the subscriber's first
//! language Vigil has text for (`en`, `fr`; English otherwise). Ids and counts only, as every
//! alert: the summary sentence is Vigil's own, never report text.
//!
//! The message's `Message-ID` is built from the delivery id, so a message sent again after a
//! restart is the same message to mail systems that deduplicate on it.

use std::sync::Arc;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::retry::{SmtpSettings, SmtpTls, Verdict};
use super::subscriber::Subscriber;
use crate::alert::phrasebook::{self, Language};
use crate::alert::{Alert, Status};

/// Why the SMTP transport cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum EmailSetupError {
    #[error("email subscribers need [delivery.smtp] host")]
    NoHost,
    /// The credential is not set, empty, or in a file that cannot be read.
    #[error("[delivery.smtp] {0}")]
    MissingCredential(String),
    #[error("[delivery.smtp] ca_file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

/// The transport for `smtp`, credentials read from the environment.
///
/// Errors: no host, a named credential variable not set, an unreadable CA file.
pub fn transport(
    smtp: &SmtpSettings,
) -> Result<Arc<AsyncSmtpTransport<Tokio1Executor>>, EmailSetupError> {
    if smtp.host.is_empty() {
        return Err(EmailSetupError::NoHost);
    }
    let tls_parameters = || -> Result<TlsParameters, EmailSetupError> {
        let mut b = TlsParameters::builder(smtp.host.clone());
        if let Some(path) = &smtp.ca_file {
            let pem = std::fs::read(path).map_err(|e| EmailSetupError::CaFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let cert = Certificate::from_pem(&pem).map_err(|e| EmailSetupError::CaFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            b = b.add_root_certificate(cert);
        }
        Ok(b.build()?)
    };
    let mut builder =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host).port(smtp.port);
    builder = match smtp.tls {
        SmtpTls::Starttls => builder.tls(Tls::Required(tls_parameters()?)),
        SmtpTls::Tls => builder.tls(Tls::Wrapper(tls_parameters()?)),
        SmtpTls::None => builder.tls(Tls::None),
    };
    if let (Some(user_env), Some(pass_env)) = (&smtp.username_env, &smtp.password_env) {
        let var = |name: &String| {
            // The variable itself, or `<name>_FILE` naming a file that holds it.
            crate::config::secret::read(name)
                .map_err(|e| EmailSetupError::MissingCredential(e.to_string()))
        };
        builder = builder.credentials(Credentials::new(var(user_env)?, var(pass_env)?));
    }
    Ok(Arc::new(builder.build()))
}

/// Subject and body of one group's notification, in the subscriber's first language that Vigil
/// writes ([`Language::first_of`]).
pub fn render(subscriber: &Subscriber, group: &str, alerts: &[&Alert]) -> (String, String) {
    let lang = Language::first_of(&subscriber.languages);
    let open = alerts
        .iter()
        .filter(|a| a.status != Status::Resolved)
        .count();
    let all = alerts.len();
    let subject = match lang {
        Language::En => format!("[Vigil] {group}: {open} open alert(s), {all} in all"),
        Language::Fr => format!("[Vigil] {group} : {open} alerte(s) ouverte(s), {all} au total"),
        Language::Pt => format!("[Vigil] {group}: {open} alerta(s) aberto(s), {all} no total"),
        Language::Ar => format!("[Vigil] {group}: {open} تنبيه(ات) مفتوح(ة)، {all} إجمالاً"),
    };
    let (region, window, reports, sources, evidence) = match lang {
        Language::En => ("Region", "Window", "Reports", "sources", "Evidence reports"),
        Language::Fr => (
            "Région",
            "Fenêtre",
            "Rapports",
            "sources",
            "Rapports à l'appui",
        ),
        Language::Pt => (
            "Região",
            "Janela",
            "Relatos",
            "fontes",
            "Relatos de suporte",
        ),
        Language::Ar => ("المنطقة", "النافذة", "التقارير", "مصادر", "تقارير داعمة"),
    };
    let mut body = String::new();
    for a in alerts {
        body.push_str(&format!(
            "{} {} — {} ({})\n  {region}: {}\n  {window}: {} / {}\n  {reports}: {} ({} {sources})\n  {evidence}: {}\n  {}\n  alert_id: {}\n\n",
            phrasebook::severity(a.severity, lang).to_uppercase(),
            phrasebook::signal(&a.signal, lang),
            a.rule,
            phrasebook::status(a.status, lang),
            a.region,
            a.window.start,
            a.window.end,
            a.observed.reports,
            a.observed.distinct_sources,
            a.evidence.report_ids.join(", "),
            phrasebook::summary(a, lang),
            a.alert_id,
        ));
    }
    (subject, body)
}

/// Sends one message to the subscriber's addresses. A permanent SMTP refusal (5xx) is refused;
/// anything else (no connection, 4xx, timeout) is retried.
pub async fn attempt(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    smtp: &SmtpSettings,
    subscriber: &Subscriber,
    delivery_id: &str,
    subject: String,
    body: String,
) -> Verdict {
    let mut builder = Message::builder()
        .subject(subject)
        .message_id(Some(format!("<{delivery_id}@vigil>")))
        .header(ContentType::TEXT_PLAIN);
    match smtp.from.parse() {
        Ok(from) => builder = builder.from(from),
        Err(_) => return refused("the from address"),
    }
    for to in &subscriber.to {
        match to.parse() {
            Ok(to) => builder = builder.to(to),
            Err(_) => return refused("a recipient address"),
        }
    }
    let message = match builder.body(body) {
        Ok(m) => m,
        Err(e) => return refused(&e.to_string()),
    };
    match transport.send(message).await {
        Ok(_) => Verdict::Delivered,
        Err(e) if e.is_permanent() => Verdict::Refused {
            reason: format!(
                "SMTP refused: {}",
                e.status().map(|c| c.to_string()).unwrap_or_default()
            ),
        },
        Err(e) => Verdict::Retry {
            after: None,
            reason: if e.is_transient() {
                "SMTP: try again later".into()
            } else {
                "SMTP: no answer".into()
            },
        },
    }
}

fn refused(what: &str) -> Verdict {
    Verdict::Refused {
        reason: format!("cannot build the message: {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::test_support::alert;
    use crate::rules::Severity;

    #[test]
    fn text_follows_the_subscribers_language_and_carries_ids_not_text() {
        let mut s: Subscriber = toml::from_str(
            "name = \"e\"\nkind = \"email\"\nto = [\"desk@example.org\"]\nlanguages = [\"sw\", \"fr\"]",
        )
        .unwrap();
        let a = alert(
            "id-1",
            "NG-BO",
            "threat:abduction",
            Severity::Critical,
            Status::Firing,
        );
        let (subject, body) = render(&s, "abduction_cluster/NG-BO", &[&a]);
        assert!(subject.contains("alerte(s) ouverte(s)"), "{subject}");
        assert!(
            body.contains("déclenchée") && body.contains("alert_id: id-1"),
            "{body}"
        );
        // Portuguese and Arabic, with the facts of the record.
        s.languages = vec!["pt".into()];
        let (subject, body) = render(&s, "g", &[&a]);
        assert!(subject.contains("alerta(s) aberto(s)"), "{subject}");
        assert!(
            body.contains("(disparado)") && body.contains("Relatos"),
            "{body}"
        );
        s.languages = vec!["ar".into()];
        let (subject, body) = render(&s, "g", &[&a]);
        assert!(subject.contains("تنبيه"), "{subject}");
        assert!(
            body.contains("المنطقة") && body.contains("alert_id: id-1"),
            "{body}"
        );
        // A language Vigil does not write: English.
        s.languages = vec!["sw".into()];
        let (subject, body) = render(&s, "g", &[&a]);
        assert!(subject.contains("open alert(s)") && body.contains("(firing)"));
    }
}
