//! Secrets: read from the environment, or from a file an environment variable names (the form
//! container orchestrators mount secrets in), never from configuration files; and the
//! configuration keys that would carry one, refused.
//!
//! For a secret named `NAME`, the variable `NAME` holds it, or `NAME_FILE` holds the path of a
//! file that does (its trailing line break removed). `NAME` wins when both are set.

use std::path::PathBuf;

/// A secret that could not be read. The secret's value never appears in these messages.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Neither `NAME` nor `NAME_FILE` is set.
    #[error("{name} (or {name}_FILE) is not set")]
    NotSet { name: String },
    /// The secret is empty: an empty signing key or password would be accepted by the other
    /// side and protect nothing.
    #[error("{name} is empty")]
    Empty { name: String },
    /// `NAME_FILE` names a file that cannot be read as UTF-8 text.
    #[error("{name}_FILE: cannot read {path}: {reason}")]
    File {
        name: String,
        path: PathBuf,
        reason: String,
    },
}

/// The secret `name`: the variable's value, or the contents of the file `name_FILE` names.
///
/// Errors: [`SecretError::NotSet`] when neither is set; [`SecretError::File`] when the file
/// cannot be read.
pub fn read(name: &str) -> Result<String, SecretError> {
    read_optional(name)?.ok_or_else(|| SecretError::NotSet { name: name.into() })
}

/// Like [`read`], but `Ok(None)` when neither variable is set.
///
/// Errors: [`SecretError::File`] when `name_FILE` names a file that cannot be read,
/// [`SecretError::Empty`] when the secret is empty.
pub fn read_optional(name: &str) -> Result<Option<String>, SecretError> {
    let value = read_raw(name)?;
    if value.as_deref() == Some("") {
        return Err(SecretError::Empty { name: name.into() });
    }
    Ok(value)
}

fn read_raw(name: &str) -> Result<Option<String>, SecretError> {
    if let Ok(value) = std::env::var(name) {
        return Ok(Some(value));
    }
    let Some(path) = std::env::var_os(format!("{name}_FILE")) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    match std::fs::read_to_string(&path) {
        // Files written by `echo` or editors end in a line break that is not part of the secret.
        Ok(text) => Ok(Some(
            text.strip_suffix('\n')
                .map(|t| t.strip_suffix('\r').unwrap_or(t))
                .unwrap_or(&text)
                .to_string(),
        )),
        Err(e) => Err(SecretError::File {
            name: name.into(),
            path,
            reason: e.to_string(),
        }),
    }
}

/// Whether a librdkafka property (dotted, lower case) carries a secret, and so may not be set in
/// `[kafka.client]`: passwords, client secrets, PEM private keys and JAAS configurations.
pub(crate) fn is_secret_property(key: &str) -> bool {
    let key = key.to_ascii_lowercase().replace('_', ".");
    key.contains("password")
        || key.contains("secret")
        || key == "ssl.key.pem"
        || key == "sasl.jaas.config"
        || key == "sasl.oauthbearer.config"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_comes_from_its_variable_or_the_file_its_file_variable_names() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("password");
        std::fs::write(&file, "s3cret-from-file\n").expect("write");
        // Unique names: tests run in parallel threads of one process.
        let (direct, via_file, neither, broken) = (
            "VIGIL_TEST_SECRET_DIRECT",
            "VIGIL_TEST_SECRET_VIA_FILE",
            "VIGIL_TEST_SECRET_NEITHER",
            "VIGIL_TEST_SECRET_BROKEN",
        );
        // SAFETY: these variables are read only by this test.
        unsafe {
            std::env::set_var(direct, "s3cret");
            std::env::set_var(format!("{direct}_FILE"), &file);
            std::env::set_var(format!("{via_file}_FILE"), &file);
            std::env::set_var(format!("{broken}_FILE"), dir.path().join("absent"));
        }
        assert_eq!(read(direct).expect("direct"), "s3cret");
        assert_eq!(read(via_file).expect("file"), "s3cret-from-file");
        assert!(matches!(read(neither), Err(SecretError::NotSet { .. })));
        assert_eq!(read_optional(neither).expect("optional"), None);
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").expect("write");
        // SAFETY: read only by this test.
        unsafe { std::env::set_var("VIGIL_TEST_SECRET_EMPTY_FILE", &empty) };
        assert!(matches!(
            read("VIGIL_TEST_SECRET_EMPTY"),
            Err(SecretError::Empty { .. })
        ));
        let err = read(broken).expect_err("absent file");
        assert!(
            err.to_string().contains("VIGIL_TEST_SECRET_BROKEN_FILE"),
            "{err}"
        );
    }

    #[test]
    fn secret_properties_are_recognised_in_either_spelling() {
        for key in [
            "sasl.password",
            "sasl_password",
            "ssl.key.password",
            "ssl_keystore_password",
            "ssl.key.pem",
            "sasl.oauthbearer.client.secret",
            "SASL.JAAS.CONFIG",
        ] {
            assert!(is_secret_property(key), "{key}");
        }
        for key in ["sasl.username", "security.protocol", "ssl.ca.location"] {
            assert!(!is_secret_property(key), "{key}");
        }
    }
}
