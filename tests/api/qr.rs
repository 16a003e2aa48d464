//! QR images decode to the code's URL, in upper case, at a small version.

use qrdesk::backend::AssetId;
use qrdesk::store::codes::Target;

use crate::helpers::{on_each_engine, spawn_app};

#[tokio::test]
async fn png_decodes_to_the_upper_case_url() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let resp = app
            .client
            .get(format!("{}/q/{code}.png", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "image/png");
        let bytes = resp.bytes().await.unwrap();
        let img = image::load_from_memory(&bytes).unwrap().to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (meta, content) = grids[0].decode().unwrap();
        let expected = code.qr_url(&app.url);
        assert_eq!(content, expected);
        assert_eq!(content, content.to_uppercase());
        assert!(meta.version.0 <= 3, "version {}", meta.version.0);
        assert_eq!(
            qrdesk::labels::qr::version(&expected).unwrap() as usize,
            meta.version.0
        );
    })
    .await;
}

#[tokio::test]
async fn svg_is_vector_and_unknown_codes_have_no_image() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let resp = app
            .client
            .get(format!("{}/Q/{code}.SVG", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "image/svg+xml");
        let svg = resp.text().await.unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<path"));
        assert_eq!(app.get("/q/ZZZZZZZZ.png").await.status, 404);
        assert_eq!(app.get(&format!("/q/{code}.gif")).await.status, 404);
    })
    .await;
}
