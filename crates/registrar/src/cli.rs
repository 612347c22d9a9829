//! The command line: subcommands and their options (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "registrar",
    version,
    about = "MITx Pro and MITx Online in one Rust system: catalog, catalog APIs and operations."
)]
pub(crate) struct Cli {
    /// TOML settings file; REGISTRAR_* environment variables and DATABASE_URL override it.
    #[arg(long, global = true, env = "REGISTRAR_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Migrate the database, then serve HTTP until SIGTERM or Ctrl-C.
    Serve {
        /// Listen address, overriding the `bind` setting.
        #[arg(long)]
        bind: Option<std::net::SocketAddr>,
        /// Serve HTTP only: run no job worker or scheduler in this process.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run the job worker and the scheduler only (no HTTP) until SIGTERM or Ctrl-C.
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Run the embedded demo: a SQLite database under ./registrar-data/, seeded with a
    /// realistic catalog on first start, served on 127.0.0.1.
    Demo {
        /// Port to serve on.
        #[arg(long, default_value_t = 8000)]
        port: u16,
    },
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print a C4 dynamic diagram of the data flows this deployment has enabled.
    Flows {
        /// Diagram language.
        #[arg(long, value_enum, default_value_t = DiagramFormat::Plantuml)]
        format: DiagramFormat,
        /// Include flows that are planned or switched off.
        #[arg(long)]
        all: bool,
    },
    /// Inspect and act on background jobs.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Move catalogs in and out.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
}

#[derive(Subcommand)]
pub(crate) enum AdminCommand {
    /// Create a staff API token for EMAIL and print it (shown once).
    CreateStaff {
        /// Who the token belongs to.
        email: String,
    },
    /// Let the account with EMAIL use the staff area when signed in (or, with --revoke,
    /// no longer).
    GrantStaff {
        email: String,
        #[arg(long)]
        revoke: bool,
    },
    /// Manage the OAuth2 applications (Open edX) that sign learners in through Registrar.
    OauthApp {
        #[command(subcommand)]
        command: OauthAppCommand,
    },
    /// The export-compliance screening log, sealed to an operator's key.
    ExportsInquiry {
        #[command(subcommand)]
        command: ExportsInquiryCommand,
    },
    /// Load MaxMind GeoLite2 Country CSVs, replacing the networks loaded before; tax then
    /// follows where the buyer connects from when that country has a rate.
    GeoipImport {
        /// GeoLite2-Country-Locations-en.csv
        #[arg(long)]
        locations: PathBuf,
        /// GeoLite2-Country-Blocks-IPv4.csv and/or -IPv6.csv (repeat the flag).
        #[arg(long = "blocks", required = true)]
        blocks: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
pub(crate) enum ExportsInquiryCommand {
    /// Print a new key pair: the public key goes in `exports_inquiry_public_key`, the
    /// private key stays with whoever may read the log.
    Keygen,
    /// Print the request and response of one logged screening.
    Decrypt {
        /// The log entry's id (shown on the staff user page).
        id: i64,
        /// A file holding the base64 private key.
        #[arg(long = "private-key-file")]
        private_key_file: PathBuf,
    },
}

#[derive(Subcommand)]
pub(crate) enum OauthAppCommand {
    /// Register an application and print its client id and secret (the secret is shown once).
    Create {
        /// A name for people, e.g. "Open edX LMS".
        name: String,
        /// Allowed redirect URI (repeat for several), e.g.
        /// https://courses.example.edu/auth/complete/mitxpro-oauth2/
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
    },
    /// List registered applications.
    List,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum DiagramFormat {
    Plantuml,
    Mermaid,
}

#[derive(Subcommand)]
pub(crate) enum JobsCommand {
    /// List jobs, newest first.
    List {
        /// Only jobs in this state: queued, running, failed, dead or succeeded.
        #[arg(long, value_parser = jobs::admin::STATES)]
        state: Option<String>,
        /// Only jobs of this kind.
        #[arg(long)]
        kind: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
    /// Print one job as JSON (payload and last error included).
    Show {
        /// Job id.
        id: i64,
    },
    /// Queue a dead (or retry-waiting) job again now, attempts reset.
    Retry {
        /// Job id.
        id: i64,
    },
    /// Stop a queued (or retry-waiting) job from running; it becomes dead.
    Cancel {
        /// Job id.
        id: i64,
    },
}

#[derive(Subcommand)]
pub(crate) enum CatalogCommand {
    /// Import catalog JSON: a Registrar export, or payloads of the originals' public APIs
    /// (xPRO /api/courses/ and /api/programs/, MITx Online /api/v2/courses/ and
    /// /api/v2/programs/ pages). Files are applied in order, each in one transaction.
    Import {
        /// Files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the whole catalog as Registrar JSON (ids and price history included).
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Print a synthetic catalog as Registrar JSON (the demo seed, at any size).
    Generate {
        /// Number of courses.
        #[arg(long, default_value_t = 48)]
        courses: usize,
        /// Number of programs.
        #[arg(long, default_value_t = 12)]
        programs: usize,
    },
}
