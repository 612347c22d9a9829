//! The data-flow registry: every cross-system flow of the two reference architectures
//! (the `flows` of the MITx Pro and MITx Online maps), declared once, mapped onto Registrar.
//! The scheduler's declarations, the staff flows endpoint and the diagrams read it.

use serde::Serialize;

use crate::schedules::Declared;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Sync,
    Async,
}

/// A participant of the diagrams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Party {
    pub id: &'static str,
    pub name: &'static str,
    pub external: bool,
}

pub const LEARNER: Party = Party {
    id: "learner",
    name: "Learner",
    external: true,
};
pub const STAFF: Party = Party {
    id: "staff",
    name: "Staff",
    external: true,
};
pub const WEB: Party = Party {
    id: "registrar_web",
    name: "Registrar web (serve)",
    external: false,
};
pub const WORKER: Party = Party {
    id: "registrar_worker",
    name: "Registrar worker",
    external: false,
};
pub const DATABASE: Party = Party {
    id: "database",
    name: "Database (SQLite / PostgreSQL)",
    external: false,
};
pub const OPENEDX: Party = Party {
    id: "openedx",
    name: "Open edX",
    external: true,
};
pub const CYBERSOURCE: Party = Party {
    id: "cybersource",
    name: "CyberSource",
    external: true,
};
pub const HUBSPOT: Party = Party {
    id: "hubspot",
    name: "HubSpot",
    external: true,
};
pub const MAIL: Party = Party {
    id: "mail",
    name: "Mail (SMTP / Mailgun)",
    external: true,
};
pub const GOOGLE: Party = Party {
    id: "google",
    name: "Google Sheets / Drive",
    external: true,
};
pub const KEYCLOAK: Party = Party {
    id: "keycloak",
    name: "Keycloak / APISIX",
    external: true,
};
pub const VENDORS: Party = Party {
    id: "vendors",
    name: "Emeritus / Global Alumni",
    external: true,
};
pub const UNIFIED_ECOMMERCE: Party = Party {
    id: "unified_ecommerce",
    name: "Unified Ecommerce",
    external: true,
};
pub const EXCHANGE_RATES: Party = Party {
    id: "exchange_rates",
    name: "Open Exchange Rates",
    external: true,
};
pub const RECAPTCHA: Party = Party {
    id: "recaptcha",
    name: "reCAPTCHA",
    external: true,
};
pub const MIT_LEARN: Party = Party {
    id: "mit_learn",
    name: "MIT Learn",
    external: true,
};

/// Where a flow stands in this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "issue")]
pub enum Availability {
    Available,
    /// Arrives with the named issue.
    Planned(&'static str),
}

#[derive(Debug, Clone, Serialize)]
pub struct Flow {
    pub id: &'static str,
    /// The flow ids in the reference maps (`xpro:…`, `mitxonline:…`).
    pub reference: &'static [&'static str],
    pub source: Party,
    pub target: Party,
    pub label: &'static str,
    pub mode: Mode,
    pub protocol: &'static str,
    pub data: &'static str,
    /// What starts it: a request, a webhook, an event, or a schedule.
    pub trigger: &'static str,
    /// Schedules (by name) that drive it.
    pub schedules: &'static [&'static str],
    /// Job kinds that carry it.
    pub job_kinds: &'static [&'static str],
    pub availability: Availability,
}

macro_rules! flow {
    ($id:literal, [$($r:literal),*], $source:expr, $target:expr, $label:literal, $mode:ident, $protocol:literal, $data:literal, $trigger:literal,
     schedules [$($s:literal),*], kinds [$($k:expr),*], $availability:expr) => {
        Flow {
            id: $id,
            reference: &[$($r),*],
            source: $source,
            target: $target,
            label: $label,
            mode: Mode::$mode,
            protocol: $protocol,
            data: $data,
            trigger: $trigger,
            schedules: &[$($s),*],
            job_kinds: &[$($k),*],
            availability: $availability,
        }
    };
}

use Availability::{Available, Planned};

pub fn all() -> Vec<Flow> {
    vec![
        flow!("learner-web", ["xpro:learner-nginx", "mitxonline:learner-apisix"], LEARNER, WEB, "Browse, enroll, pay", Sync, "HTTPS", "Pages and API requests", "on request",
            schedules [], kinds [], Available),
        flow!("staff-web", ["mitxonline:staff-apisix"], STAFF, WEB, "Manage catalog and operations", Sync, "HTTPS", "Staff API requests", "on request",
            schedules [], kinds [], Available),
        flow!("web-database", ["xpro:django-postgres", "mitxonline:django-postgres"], WEB, DATABASE, "Read/write, enqueue jobs", Sync, "SQL", "Catalog, jobs (outbox)", "on request",
            schedules [], kinds [], Available),
        flow!(
            "worker-database",
            ["xpro:beat-redis", "mitxonline:beat-redis"],
            WORKER,
            DATABASE,
            "Claim jobs, schedule slots",
            Async,
            "SQL",
            "jobs, cron_runs",
            "continuous",
            schedules["purge-finished-jobs"],
            kinds["registrar.purge_finished_jobs"],
            Available
        ),
        flow!("mitlearn-catalog", ["xpro:mitlearn-catalog", "mitxonline:mitlearn-catalog"], MIT_LEARN, WEB, "Pull course/program catalog", Async, "REST", "/api/courses/, /api/programs/, /api/v2/{courses,programs}/?live=true", "MIT Learn schedule (xPRO daily 05:00, MITx Online every 6 h)",
            schedules [], kinds [], Available),
        flow!("web-openedx-sso", ["xpro:django-openedx-oauth", "mitxonline:django-openedx"], WEB, OPENEDX, "SSO and user provisioning", Sync, "OAuth2/HTTPS", "edX user, per-user token", "on login / signup",
            schedules [], kinds [], Available),
        flow!("worker-openedx-enroll", ["xpro:django-openedx-enroll", "mitxonline:django-openedx"], WORKER, OPENEDX, "Enroll learner", Async, "REST", "Course-run enrollment, course-email choice", "on enrollment / unenrollment / email choice",
            schedules [], kinds ["openedx.sync_enrollment", "openedx.email_settings"], Available),
        flow!("worker-openedx-users", ["xpro:django-openedx-oauth", "xpro:celery-openedx-repair", "mitxonline:django-openedx", "mitxonline:celery-openedx"], WORKER, OPENEDX, "Create edX users, repair faulty ones", Async, "REST OAuth2", "edX accounts", "on sign-up; schedule",
            schedules ["repair-faulty-edx-users"], kinds ["openedx.create_user", "openedx.repair_faulty_users", "openedx.update_user"], Available),
        flow!(
            "worker-openedx-retry-enrollments",
            ["xpro:celery-openedx-repair", "mitxonline:celery-openedx"],
            WORKER,
            OPENEDX,
            "Retry failed enrollments",
            Async,
            "REST OAuth2",
            "Failed enrollments",
            "schedule",
            schedules["retry-failed-edx-enrollments"],
            kinds["openedx.retry_failed_enrollments"],
            Available
        ),
        flow!(
            "worker-openedx-sync",
            ["xpro:celery-openedx-grades", "mitxonline:celery-postgres"],
            WORKER,
            OPENEDX,
            "Pull run data and grades",
            Async,
            "REST",
            "Course-run titles and dates, grades",
            "schedule",
            schedules["sync-courseruns-data"],
            kinds["courses.sync_courseruns_data"],
            Available
        ),
        flow!("worker-certificates", ["xpro:celery-certs", "mitxonline:celery-postgres"], WORKER, DATABASE, "Generate certificates", Async, "SQL", "Course and program certificates", "schedule",
            schedules ["generate-course-certificates", "generate-course-certificate", "generate-missing-program-certificates", "upgrade-eligible-program-enrollments"],
            kinds ["courses.generate_course_certificates", "courses.generate_program_certificates", "courses.upgrade_eligible_program_enrollments"], Available),
        flow!("openedx-webhooks", ["mitxonline:openedx-django"], OPENEDX, WEB, "Enrollment and certificate webhooks", Sync, "HTTPS", "edX enrollment and certificate events", "webhook",
            schedules [], kinds [], Available),
        flow!(
            "worker-vendors",
            ["xpro:celery-vendors"],
            WORKER,
            VENDORS,
            "Sync external courses",
            Async,
            "REST",
            "Vendor batch reports",
            "schedule",
            schedules["sync-external-course-runs"],
            kinds["courses.sync_external_course_runs"],
            Available
        ),
        flow!("worker-cybersource-exports", ["xpro:django-cybersource-exports"], WORKER, CYBERSOURCE, "Export-compliance screening", Async, "SOAP", "Name, address and email of new accounts", "on sign-up",
            schedules [], kinds ["compliance.screen_user"], Available),
        flow!("learner-cybersource", ["xpro:learner-cybersource", "mitxonline:django-cybersource"], LEARNER, CYBERSOURCE, "Pay (hosted page)", Sync, "HTTPS", "Signed Secure Acceptance payload", "on checkout",
            schedules [], kinds [], Available),
        flow!("cybersource-web", ["xpro:cybersource-django", "mitxonline:cybersource-django"], CYBERSOURCE, WEB, "Signed payment result", Sync, "HTTPS", "Order result and signature", "webhook",
            schedules [], kinds [], Available),
        flow!("worker-baskets", ["xpro:delete-expired-baskets", "mitxonline:cull-anonymous-baskets"], WORKER, DATABASE, "Expire baskets", Async, "SQL", "Old and anonymous baskets", "schedule",
            schedules ["delete-expired-baskets", "cull-anonymous-baskets"], kinds ["ecommerce.delete_expired_baskets", "ecommerce.cull_anonymous_baskets"], Planned("6")),
        flow!("worker-hubspot", ["xpro:celery-hubspot", "mitxonline:celery-hubspot"], WORKER, HUBSPOT, "Sync contacts, products, deals, certificates", Async, "REST", "Users, products, orders", "on change",
            schedules [], kinds ["crm.sync_contacts", "crm.sync_products", "crm.sync_deal", "crm.sync_certificates", "crm.archive_certificates", "crm.submit_signup_form"], Available),
        flow!("worker-mail", ["xpro:celery-mailgun", "mitxonline:celery-mailgun"], WORKER, MAIL, "Transactional and bulk email", Async, "SMTP/HTTPS", "Receipts, codes, notices", "on event",
            schedules [], kinds ["mail.send", "certificates.mail"], Available),
        flow!("google-web-push", ["xpro:google-django-webhook"], GOOGLE, WEB, "Drive change push", Async, "HTTPS", "File-change notifications", "webhook",
            schedules [], kinds [], Available),
        flow!("worker-sheets", ["xpro:celery-sheets", "mitxonline:celery-sheets"], WORKER, GOOGLE, "Process request sheets", Async, "REST (Sheets/Drive)", "Coupon, refund, deferral, assignment rows", "schedule",
            schedules ["process-google-sheets-requests", "renew-file-watches", "handle-coupon-request-sheet", "update-assignment-delivery-dates"],
            kinds ["sheets.process_requests", "sheets.renew_file_watches", "sheets.handle_coupon_requests", "sheets.update_assignment_delivery", "sheets.create_assignment_sheet", "sheets.process_assignment_sheet", "sheets.show_assignment_statuses"], Available),
        flow!(
            "worker-code-sheets",
            ["mitxonline:celery-sheets"],
            WORKER,
            GOOGLE,
            "Write enrollment-code sheets",
            Async,
            "REST (Sheets)",
            "Codes, redemptions",
            "schedule",
            schedules["update-b2b-enrollment-code-sheets"],
            kinds["b2b.update_enrollment_code_sheets"],
            Available
        ),
        flow!(
            "worker-keycloak",
            ["mitxonline:celery-keycloak"],
            WORKER,
            KEYCLOAK,
            "Reconcile B2B organizations",
            Async,
            "REST (Admin API)",
            "Organizations and membership",
            "schedule",
            schedules["sync-keycloak"],
            kinds["b2b.sync_keycloak_organizations"],
            Planned("B2B")
        ),
        flow!("keycloak-scim", ["mitxonline:keycloak-scim"], KEYCLOAK, WEB, "SCIM provisioning", Sync, "SCIM/HTTPS", "B2B users and groups", "on provisioning event",
            schedules [], kinds [], Planned("B2B")),
        flow!("worker-unified-ecommerce", ["mitxonline:celery-ue", "mitxonline:django-ue"], WORKER, UNIFIED_ECOMMERCE, "Push flexible-pricing discounts", Async, "REST", "Discounts", "on approval",
            schedules [], kinds [], Planned("flexible pricing")),
        flow!(
            "worker-exchange-rates",
            [],
            WORKER,
            EXCHANGE_RATES,
            "Sync exchange rates",
            Async,
            "REST",
            "Currency rates",
            "schedule",
            schedules["update-currency-exchange-rates"],
            kinds["flexiblepricing.sync_exchange_rates"],
            Planned("flexible pricing")
        ),
        flow!("web-recaptcha", ["xpro:django-recaptcha", "mitxonline:publicspa-recaptcha"], WEB, RECAPTCHA, "Verify registration", Sync, "HTTPS", "reCAPTCHA token", "on register",
            schedules [], kinds [], Planned("5")),
        flow!(
            "worker-oauth-tokens",
            [],
            WORKER,
            DATABASE,
            "Clear expired OAuth2 tokens",
            Async,
            "SQL",
            "Expired tokens",
            "schedule",
            schedules["clear-expired-tokens"],
            kinds["oauth2.clear_expired_tokens"],
            Planned("5")
        ),
    ]
}

/// A flow is enabled in a deployment when this build has it and, if schedules drive it, at
/// least one of them is on.
pub fn enabled(flow: &Flow, schedules: &[Declared]) -> bool {
    flow.availability == Availability::Available
        && (flow.schedules.is_empty()
            || schedules.iter().any(|d| {
                flow.schedules.contains(&d.schedule.name)
                    && !matches!(d.schedule.cadence, jobs::Cadence::Off)
            }))
}

fn parties(flows: &[&Flow]) -> Vec<Party> {
    let mut out: Vec<Party> = Vec::new();
    for flow in flows {
        for party in [flow.source, flow.target] {
            if !out.contains(&party) {
                out.push(party);
            }
        }
    }
    out
}

/// A C4 dynamic diagram (PlantUML, C4-PlantUML includes) of the given flows.
pub fn plantuml(flows: &[&Flow]) -> String {
    let mut out = String::from("@startuml\n!include <C4/C4_Dynamic>\ntitle Registrar data flows\n");
    for party in parties(flows) {
        let macro_name = match (party.external, party.id) {
            (true, "learner" | "staff") => "Person",
            (true, _) => "System_Ext",
            (false, "database") => "ContainerDb",
            (false, _) => "Container",
        };
        out.push_str(&format!("{macro_name}({}, \"{}\")\n", party.id, party.name));
    }
    for (i, flow) in flows.iter().enumerate() {
        let style = if flow.mode == Mode::Async {
            ", $tags=\"async\""
        } else {
            ""
        };
        out.push_str(&format!(
            "Rel({}, {}, \"{}. {}\", \"{}; {}\"{style})\n",
            flow.source.id,
            flow.target.id,
            i + 1,
            flow.label,
            flow.protocol,
            flow.trigger
        ));
    }
    out.push_str("@enduml\n");
    out
}

/// The same diagram as Mermaid (`flowchart LR`; asynchronous flows dashed).
pub fn mermaid(flows: &[&Flow]) -> String {
    let mut out = String::from("flowchart LR\n");
    for party in parties(flows) {
        let shape = if party.id == "database" {
            format!("[(\"{}\")]", party.name)
        } else {
            format!("[\"{}\"]", party.name)
        };
        out.push_str(&format!("  {}{shape}\n", party.id));
    }
    for flow in flows {
        let arrow = if flow.mode == Mode::Async {
            "-.->"
        } else {
            "-->"
        };
        out.push_str(&format!(
            "  {} {arrow}|\"{} ({})\"| {}\n",
            flow.source.id, flow.label, flow.protocol, flow.target.id
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use super::*;

    #[test]
    fn ids_are_unique_and_schedules_and_kinds_are_declared() {
        let flows = all();
        let ids: HashSet<_> = flows.iter().map(|f| f.id).collect();
        assert_eq!(ids.len(), flows.len());
        let declared = crate::schedules::all();
        for flow in &flows {
            for schedule in flow.schedules {
                let d = declared
                    .iter()
                    .find(|d| d.schedule.name == *schedule)
                    .unwrap_or_else(|| panic!("{schedule}"));
                assert!(
                    flow.job_kinds.contains(&d.schedule.kind),
                    "{}: {schedule} runs {} which the flow does not list",
                    flow.id,
                    d.schedule.kind
                );
            }
        }
        for d in &declared {
            assert!(
                flows.iter().any(|f| f.schedules.contains(&d.schedule.name)),
                "schedule {} belongs to no flow",
                d.schedule.name
            );
        }
    }

    #[test]
    fn enabled_flows_follow_availability_and_schedules() {
        let kinds: Vec<&str> = crate::registry().kinds().collect();
        let on = crate::schedules::resolve(&kinds, &BTreeMap::new()).unwrap();
        let flows = all();
        let flow = |id: &str| flows.iter().find(|f| f.id == id).unwrap();
        assert!(enabled(flow("mitlearn-catalog"), &on));
        assert!(enabled(flow("worker-database"), &on));
        assert!(enabled(flow("worker-hubspot"), &on), "available, on change");
        assert!(!enabled(flow("worker-keycloak"), &on), "planned");
        let off = crate::schedules::resolve(
            &kinds,
            &BTreeMap::from([("purge-finished-jobs".to_string(), "off".to_string())]),
        )
        .unwrap();
        assert!(
            !enabled(flow("worker-database"), &off),
            "its only schedule is off"
        );
    }

    #[test]
    fn diagrams_name_every_party_and_flow() {
        let flows = all();
        let shown: Vec<&Flow> = flows
            .iter()
            .filter(|f| f.availability == Availability::Available)
            .collect();
        let puml = plantuml(&shown);
        assert!(puml.starts_with("@startuml") && puml.trim_end().ends_with("@enduml"));
        assert!(puml.contains("Person(learner, \"Learner\")"));
        assert!(puml.contains("ContainerDb(database"));
        assert!(puml.contains("Rel(mit_learn, registrar_web"));
        let mmd = mermaid(&shown);
        assert!(
            mmd.contains("mit_learn -.->|"),
            "asynchronous flows are dashed: {mmd}"
        );
        assert!(mmd.contains("learner -->|"));
        assert_eq!(
            mmd.matches("-->").count() + mmd.matches("-.->").count(),
            shown.len()
        );
    }
}
