//! `registrar admin`: staff tokens and accounts, OAuth2 applications, the GeoIP import and
//! the export-screening logs.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use registrar::config::Config;

use crate::app::open;
use crate::cli::{AdminCommand, ExportsInquiryCommand, OauthAppCommand};

pub(crate) async fn run(config: &Config, command: AdminCommand) -> Result<()> {
    match command {
        AdminCommand::CreateStaff { email } => {
            if !email.contains('@') {
                bail!("EMAIL must be an email address, got {email:?}");
            }
            let store = open(config).await?;
            println!("{}", store::staff::create_token(store.db(), &email).await?);
            Ok(())
        }
        AdminCommand::GrantStaff { email, revoke } => {
            let address = domain::accounts::Email::parse(&email)
                .map_err(|e| anyhow::anyhow!("EMAIL: {e}"))?;
            let store = open(config).await?;
            let Some(user) = store::accounts::find_by_email(store.db(), &address).await? else {
                bail!("there is no account with the email {email}");
            };
            store::accounts::update(store.db(), user, |u| u.is_staff = sea_orm::Set(!revoke))
                .await?;
            println!(
                "{email} {} use the staff area",
                if revoke { "can no longer" } else { "can now" }
            );
            Ok(())
        }
        AdminCommand::OauthApp { command } => {
            let store = open(config).await?;
            match command {
                OauthAppCommand::Create {
                    name,
                    redirect_uris,
                } => {
                    for uri in &redirect_uris {
                        if !(uri.starts_with("https://") || uri.starts_with("http://")) {
                            bail!("--redirect-uri must be an absolute http(s) URL, got {uri:?}");
                        }
                    }
                    let (app, secret) = store::oauth2::create_application(
                        store.db(),
                        &name,
                        &redirect_uris,
                        chrono::Utc::now(),
                    )
                    .await?;
                    println!("client_id:     {}\nclient_secret: {secret}", app.client_id);
                }
                OauthAppCommand::List => {
                    for app in store::oauth2::applications(store.db()).await? {
                        println!(
                            "{}  {}  {}",
                            app.client_id,
                            app.name,
                            app.redirect_uris.join(" ")
                        );
                    }
                }
            }
            Ok(())
        }
        AdminCommand::GeoipImport { locations, blocks } => {
            let read = |path: &PathBuf| {
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
            };
            let locations = read(&locations)?;
            let blocks = blocks.iter().map(read).collect::<Result<Vec<_>, _>>()?;
            let store = open(config).await?;
            let blocks: Vec<&str> = blocks.iter().map(String::as_str).collect();
            let loaded = services::geoip::import(&store, &locations, &blocks).await?;
            println!("{loaded} networks loaded");
            Ok(())
        }
        AdminCommand::ExportsInquiry { command } => match command {
            ExportsInquiryCommand::Keygen => {
                let (public, private) = services::compliance::new_key_pair();
                println!("public key (exports_inquiry_public_key): {public}");
                println!("private key (keep it secret):            {private}");
                Ok(())
            }
            ExportsInquiryCommand::Decrypt {
                id,
                private_key_file,
            } => {
                let key = std::fs::read_to_string(&private_key_file)
                    .with_context(|| format!("reading {}", private_key_file.display()))?;
                let store = open(config).await?;
                let Some(inquiry) = store::compliance::find(store.db(), id).await? else {
                    bail!("there is no exports inquiry {id}");
                };
                for (what, sealed) in [
                    ("request", &inquiry.encrypted_request),
                    ("response", &inquiry.encrypted_response),
                ] {
                    let text = services::compliance::unseal(&key, sealed)
                        .map_err(|e| anyhow::anyhow!("the {what}: {e}"))?;
                    println!(
                        "--- {what} ({}, user {})\n{text}",
                        inquiry.computed_result, inquiry.user_id
                    );
                }
                Ok(())
            }
        },
    }
}
