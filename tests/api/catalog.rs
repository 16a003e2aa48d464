//! The local catalog: paged sync from HubEx, and scans that never wait on it.

use qrdesk::backend::hubex::sim::Fault;
use qrdesk::backend::AssetId;
use qrdesk::store::codes::Target;

use crate::helpers::{on_each_engine, spawn_app};

#[tokio::test]
async fn sync_reads_every_page_of_every_list() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        app.sim.set_max_page(5);
        let pool = app.pool();
        sqlx::query("DELETE FROM catalog_assets")
            .execute(pool)
            .await
            .unwrap();
        let backend = qrdesk::connect_backend(&app.config, Some(app.sim.clone()))
            .await
            .unwrap()
            .0;
        let report = qrdesk::catalog::sync(pool, backend.as_ref(), &qrdesk::backend::NoProgress)
            .await
            .unwrap();
        assert_eq!(
            (
                report.districts,
                report.locations,
                report.companies,
                report.assets
            ),
            (4, 6, 3, 21)
        );
        let asset_pages = app
            .sim
            .calls()
            .iter()
            .filter(|c| c.path == "/ES/Assets" && c.status == 206)
            .count();
        assert!(
            asset_pages >= 5,
            "21 assets in pages of 5: {asset_pages} pages"
        );
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM catalog_assets")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(count, 21);
        let with_district: i64 =
            sqlx::query_scalar("SELECT COUNT(DISTINCT asset_id) FROM catalog_asset_districts")
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!(with_district, 21, "every asset knows its участок");
        let anon = qrdesk::store::get_setting(pool, "anonymous_user_id")
            .await
            .unwrap();
        assert_eq!(anon.as_deref(), Some("789"));
    })
    .await;
}

#[tokio::test]
async fn scans_work_and_requests_are_kept_while_hubex_is_down() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        app.sim.fail(
            "",
            "/",
            Fault::Status {
                status: 503,
                retry_after: None,
            },
            10_000,
        );
        app.sim.fail(
            "",
            "/AUTHZ",
            Fault::Status {
                status: 503,
                retry_after: None,
            },
            10_000,
        );
        app.sim.fail(
            "",
            "/ES",
            Fault::Status {
                status: 503,
                retry_after: None,
            },
            10_000,
        );
        app.sim.fail(
            "",
            "/WORK",
            Fault::Status {
                status: 503,
                retry_after: None,
            },
            10_000,
        );

        let backend = qrdesk::connect_backend(&app.config, Some(app.sim.clone()))
            .await
            .unwrap()
            .0;
        let err = qrdesk::catalog::sync(app.pool(), backend.as_ref(), &qrdesk::backend::NoProgress)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("503"), "{err}");
        let kept = qrdesk::store::get_setting(app.pool(), "catalog_sync_error")
            .await
            .unwrap()
            .unwrap();
        assert!(kept.contains("503"));

        let form = app.get(&format!("/q/{code}")).await;
        assert_eq!(form.status, 200, "the form opens from the local catalog");
        assert!(form.body.contains("Кофемашина Jura GIGA X8"));
        let path = app.report(&code, "Кофемашина не включается с утра").await;
        let page = app.get(&path).await;
        assert!(page.body.contains("Принята"));
        // One delivery attempt has met the outage and been put back in the queue.
        crate::helpers::wait_for(10, "a failed attempt rescheduled", || async {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE kind = 'create_task' AND last_error IS NOT NULL",
            )
            .fetch_one(app.pool())
            .await
            .unwrap();
            (n > 0).then_some(())
        })
        .await;
        assert_eq!(
            app.request_by_status_path(&path).await.status,
            qrdesk::store::RequestStatus::Delivering,
            "waiting, not failed"
        );

        app.sim.clear_faults();
        app.wait_status(&path, "delivered", 15).await;
        assert_eq!(app.tasks().len(), 1);
    })
    .await;
}
