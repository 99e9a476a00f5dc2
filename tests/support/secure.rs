//! The secured broker's TLS material and settings: a throwaway CA made with `openssl`, the
//! broker's certificate for 127.0.0.1 (PKCS#12 keystore), a client certificate for mTLS whose
//! private key is encrypted; SCRAM-SHA-512 users written at `StorageTool format`; the KRaft
//! `StandardAuthorizer`, with only the PLAINTEXT listener's anonymous administrator (127.0.0.1,
//! used by the tests to create topics and ACLs) and the controller as super users. Deny by
//! default: a principal with no ACL may do nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{free_port, output_ok};

/// The principal of the mTLS client certificate (its subject, as Kafka's default mapping
/// gives it).
pub const MTLS_PRINCIPAL: &str = "User:CN=vigil-mtls";

/// The secured listeners and what a client needs to reach them.
#[derive(Debug, Clone)]
pub struct Secured {
    /// SASL_SSL (SCRAM-SHA-512) listener, `127.0.0.1:port`.
    pub sasl_ssl: String,
    /// SSL listener that requires a client certificate.
    pub mtls: String,
    /// The CA that signed the broker's and the client's certificates (PEM).
    pub ca: PathBuf,
    pub client_cert: PathBuf,
    /// The client's private key, encrypted with `client_key_password`.
    pub client_key: PathBuf,
    pub client_key_password: String,
}

fn openssl(dir: &Path, args: &[&str]) {
    let mut cmd = Command::new("openssl");
    cmd.current_dir(dir).args(args);
    output_ok(&mut cmd, &format!("openssl {}", args[0]));
}

/// Makes the TLS material in `dir` and returns the listeners, the extra broker properties and
/// the `StorageTool format` arguments that add `users` (name, password) as SCRAM credentials.
pub(super) fn prepare(
    dir: &Path,
    _jars: &Path,
    users: &[(&str, &str)],
) -> (Secured, String, Vec<String>) {
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).expect("tls dir");
    std::fs::write(tls.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").expect("san");
    let key_password = "mtls-key-passphrase-4e1f";
    openssl(
        &tls,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=vigil-test-ca",
        ],
    );
    openssl(
        &tls,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "broker.key",
            "-out",
            "broker.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    openssl(
        &tls,
        &[
            "x509",
            "-req",
            "-in",
            "broker.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "broker.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
    openssl(
        &tls,
        &[
            "pkcs12",
            "-export",
            "-in",
            "broker.pem",
            "-inkey",
            "broker.key",
            "-out",
            "broker.p12",
            "-passout",
            "pass:broker-store",
            "-name",
            "broker",
        ],
    );
    openssl(
        &tls,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-aes-256-cbc",
            "-pass",
            &format!("pass:{key_password}"),
            "-out",
            "client.key",
        ],
    );
    openssl(
        &tls,
        &[
            "req",
            "-new",
            "-key",
            "client.key",
            "-passin",
            &format!("pass:{key_password}"),
            "-out",
            "client.csr",
            "-subj",
            "/CN=vigil-mtls",
        ],
    );
    openssl(
        &tls,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "client.pem",
            "-days",
            "2",
        ],
    );
    let secured = Secured {
        sasl_ssl: format!("127.0.0.1:{}", free_port()),
        mtls: format!("127.0.0.1:{}", free_port()),
        ca: tls.join("ca.pem"),
        client_cert: tls.join("client.pem"),
        client_key: tls.join("client.key"),
        client_key_password: key_password.into(),
    };
    let extra = format!(
        "sasl.enabled.mechanisms=SCRAM-SHA-512\n\
         listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;\n\
         ssl.keystore.type=PKCS12\n\
         ssl.keystore.location={keystore}\n\
         ssl.keystore.password=broker-store\n\
         ssl.truststore.type=PEM\n\
         ssl.truststore.location={ca}\n\
         listener.name.mtls.ssl.client.auth=required\n\
         authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n\
         allow.everyone.if.no.acl.found=false\n\
         super.users=User:ANONYMOUS\n",
        keystore = tls.join("broker.p12").display(),
        ca = secured.ca.display(),
    );
    let mut format_args = Vec::new();
    for (name, password) in users {
        format_args.push("--add-scram".to_string());
        format_args.push(format!("SCRAM-SHA-512=[name={name},password={password}]"));
    }
    (secured, extra, format_args)
}

/// One ACL: allow `principal` the `operation` on a resource given as `AclCommand` options
/// (`["--topic", name]`, `["--group", id]`, `["--transactional-id", id]`).
pub fn allow(broker: &super::Broker, principal: &str, operation: &str, resource: &[&str]) {
    let mut args = vec![
        "--add",
        "--allow-principal",
        principal,
        "--operation",
        operation,
    ];
    args.extend_from_slice(resource);
    broker.tool("org.apache.kafka.tools.AclCommand", &args);
}
