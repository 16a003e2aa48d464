//! The JSON API under /api/v1: bearer tokens, viewer against admin, errors as
//! `{"error": {"code", "message"}}`, a quota per token.

use qrdesk::backend::AssetId;
use qrdesk::domain::api_token::ApiToken;
use qrdesk::store::codes::Target;
use qrdesk::store::{api_tokens, ApiRole};
use serde_json::{json, Value};

use crate::helpers::{on_each_engine, spawn_app, spawn_with, TestApp};

async fn token(app: &TestApp, role: ApiRole) -> String {
    let (_, t) = api_tokens::create(app.pool(), "тест", role, qrdesk::store::now_ms())
        .await
        .unwrap();
    t.expose().to_owned()
}

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app
        .client
        .request(method.parse().unwrap(), format!("{}{path}", app.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn error_code(v: &Value) -> &str {
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an API error: {v}"))
}

#[tokio::test]
async fn tokens_open_the_api_and_roles_hold() {
    on_each_engine(|| async {
        let app = spawn_with(|_| {}).await;
        let (admin, viewer) = (
            token(&app, ApiRole::Admin).await,
            token(&app, ApiRole::Viewer).await,
        );

        // No token, a mangled one, a well-formed one nobody made.
        let (s, v) = call(&app, "GET", "/api/v1/codes", None, None).await;
        assert_eq!((s, error_code(&v)), (401, "unauthorized"));
        assert!(v["error"]["message"].as_str().unwrap().contains("Bearer"));
        // The last character changed (to one it is not), so the checksum fails.
        let last = if admin.ends_with('x') { "y" } else { "x" };
        let mangled = format!("{}{last}", &admin[..admin.len() - 1]);
        let (s, v) = call(&app, "GET", "/api/v1/codes", Some(&mangled), None).await;
        assert_eq!((s, error_code(&v)), (401, "unauthorized"));
        let stranger = ApiToken::generate();
        let (s, v) = call(&app, "GET", "/api/v1/codes", Some(stranger.expose()), None).await;
        assert_eq!(s, 401);
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown or revoked"));

        // An admin makes a code exactly as the CLI does; a viewer may only read.
        let (s, made) = call(
            &app,
            "POST",
            "/api/v1/codes",
            Some(&admin),
            Some(json!({"asset_id": 1001})),
        )
        .await;
        assert_eq!(s, 201, "{made}");
        let code = made["code"].as_str().unwrap().to_owned();
        assert_eq!(made["url"], format!("{}/q/{code}", app.url));
        let (s, v) = call(
            &app,
            "POST",
            "/api/v1/codes",
            Some(&viewer),
            Some(json!({"asset_id": 1001})),
        )
        .await;
        assert_eq!((s, error_code(&v)), (403, "forbidden"));
        let (s, list) = call(&app, "GET", "/api/v1/codes", Some(&viewer), None).await;
        assert_eq!(s, 200);
        assert!(list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == code.as_str()));

        // Clear refusals of bad bodies.
        for (body, code_expected) in [
            (json!({"asset_id": 1001, "blank": true}), "invalid_target"),
            (json!({}), "invalid_target"),
            (json!({"asset_id": 99_999_999}), "invalid_target"),
            (json!({"asset": 1001}), "invalid_body"),
            (
                json!({"asset_id": 1001, "label": "x".repeat(201)}),
                "invalid_label",
            ),
        ] {
            let (s, v) = call(
                &app,
                "POST",
                "/api/v1/codes",
                Some(&admin),
                Some(body.clone()),
            )
            .await;
            assert_eq!((s, error_code(&v)), (422, code_expected), "{body}");
        }
        let (s, v) = call(&app, "GET", "/api/v1/nothing", Some(&admin), None).await;
        assert_eq!((s, error_code(&v)), (404, "not_found"));

        // A request: contact data for admin tokens only.
        let sticker = app.code_for(Target::Asset(AssetId(1001))).await;
        let path = app
            .report_with(
                &sticker,
                &[
                    ("description", "Не работает проектор в зале"),
                    ("phone", "+79990001122"),
                    ("consent", "1"),
                ],
            )
            .await;
        let r = app.wait_status(&path, "delivered", 10).await;
        let (s, seen) = call(
            &app,
            "GET",
            &format!("/api/v1/requests/{}", r.id),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(s, 200, "{seen}");
        assert_eq!(seen["status"], "delivered");
        assert_eq!(
            seen["task"]["number"],
            r.task_number.clone().unwrap().as_str()
        );
        assert_eq!(seen["contact"]["phone"], "+79990001122");
        let (_, seen) = call(
            &app,
            "GET",
            &format!("/api/v1/requests/{}", r.id),
            Some(&viewer),
            None,
        )
        .await;
        assert!(
            seen.get("contact").is_none(),
            "no contact data for a viewer: {seen}"
        );
        assert!(!seen.to_string().contains("+79990001122"));
        let (s, v) = call(&app, "GET", "/api/v1/requests/nope", Some(&viewer), None).await;
        assert_eq!((s, error_code(&v)), (404, "not_found"));
        app.drain_outbox(10).await;
    })
    .await;
}

#[tokio::test]
async fn each_token_has_its_own_quota() {
    on_each_engine(|| async {
        let app = spawn_with(|c| {
            c.limits.api_per_minute = 6;
            c.limits.api_burst = 3;
        })
        .await;
        let (a, b) = (
            token(&app, ApiRole::Viewer).await,
            token(&app, ApiRole::Viewer).await,
        );
        for _ in 0..3 {
            assert_eq!(
                call(&app, "GET", "/api/v1/codes", Some(&a), None).await.0,
                200
            );
        }
        let resp = app
            .client
            .get(format!("{}/api/v1/codes", app.url))
            .bearer_auth(&a)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 429);
        assert!(resp.headers().get("retry-after").is_some());
        let v: Value = resp.json().await.unwrap();
        assert_eq!(error_code(&v), "rate_limited");
        assert_eq!(
            call(&app, "GET", "/api/v1/codes", Some(&b), None).await.0,
            200,
            "another token is unaffected"
        );
    })
    .await;
}

#[tokio::test]
async fn requests_page_with_a_cursor_and_codes_change_through_the_api() {
    on_each_engine(|| async {
        let app = spawn_with(|_| {}).await;
        let (admin, viewer) = (
            token(&app, ApiRole::Admin).await,
            token(&app, ApiRole::Viewer).await,
        );
        let sticker = app.code_for(Target::Asset(AssetId(1001))).await;
        let mut ids = Vec::new();
        for text in [
            "Первая заявка по API",
            "Вторая заявка по API",
            "Третья заявка по API",
        ] {
            let path = app.report(&sticker, text).await;
            ids.push(app.wait_status(&path, "delivered", 10).await.id);
        }
        ids.reverse(); // newest first
        let (s, first) = call(&app, "GET", "/api/v1/requests?limit=2", Some(&viewer), None).await;
        assert_eq!(s, 200, "{first}");
        let got: Vec<&str> = first["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(got, [ids[0].as_str(), ids[1].as_str()]);
        let cursor = first["next_cursor"]
            .as_str()
            .expect("a next page")
            .to_owned();
        let (_, second) = call(
            &app,
            "GET",
            &format!("/api/v1/requests?limit=2&cursor={cursor}"),
            Some(&viewer),
            None,
        )
        .await;
        let got: Vec<&str> = second["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(got, [ids[2].as_str()]);
        assert!(second["next_cursor"].is_null());
        let (_, failed) = call(
            &app,
            "GET",
            "/api/v1/requests?status=failed",
            Some(&viewer),
            None,
        )
        .await;
        assert_eq!(failed["items"].as_array().unwrap().len(), 0);
        let (_, by_code) = call(
            &app,
            "GET",
            &format!(
                "/api/v1/requests?code={}&since=2020-01-01T00:00:00Z",
                sticker.as_str().to_lowercase()
            ),
            Some(&viewer),
            None,
        )
        .await;
        assert_eq!(by_code["items"].as_array().unwrap().len(), 3, "{by_code}");
        for bad in [
            "status=lost",
            "cursor=nonsense",
            "limit=0",
            "since=yesterday",
            "colour=red",
        ] {
            let (s, v) = call(
                &app,
                "GET",
                &format!("/api/v1/requests?{bad}"),
                Some(&viewer),
                None,
            )
            .await;
            assert_eq!(s, 400, "{bad}: {v}");
            assert!(error_code(&v).starts_with("invalid_"));
        }

        // Rotate, move, revoke.
        let (s, v) = call(
            &app,
            "POST",
            &format!("/api/v1/codes/{sticker}/rotate"),
            Some(&viewer),
            None,
        )
        .await;
        assert_eq!((s, error_code(&v)), (403, "forbidden"));
        let (s, rotated) = call(
            &app,
            "POST",
            &format!("/api/v1/codes/{sticker}/rotate"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(s, 201, "{rotated}");
        assert_eq!(rotated["replaces"], sticker.as_str());
        let new = rotated["code"].as_str().unwrap().to_owned();
        let (s, moved) = call(
            &app,
            "POST",
            &format!("/api/v1/codes/{new}/move"),
            Some(&admin),
            Some(json!({"asset_id": 1002})),
        )
        .await;
        assert_eq!(s, 200, "{moved}");
        assert_eq!(moved["target_id"], 1002);
        let (s, v) = call(
            &app,
            "POST",
            &format!("/api/v1/codes/{new}/move"),
            Some(&admin),
            Some(json!({"asset_id": 99_999_999})),
        )
        .await;
        assert_eq!((s, error_code(&v)), (422, "invalid_target"));
        let (s, revoked) = call(
            &app,
            "POST",
            &format!("/api/v1/codes/{new}/revoke"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!((s, revoked["state"].as_str()), (200, Some("revoked")));
        let (s, v) = call(
            &app,
            "POST",
            &format!("/api/v1/codes/{new}/revoke"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!((s, error_code(&v)), (409, "conflict"));
        let (s, v) = call(
            &app,
            "POST",
            &format!("/api/v1/codes/{new}/paint"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!((s, error_code(&v)), (404, "not_found"));
        let (s, v) = call(
            &app,
            "POST",
            "/api/v1/codes/00000000/revoke",
            Some(&admin),
            None,
        )
        .await;
        assert_eq!((s, error_code(&v)), (404, "not_found"));
        app.drain_outbox(10).await;
    })
    .await;
}

#[tokio::test]
async fn assets_and_label_sheets_through_the_api() {
    on_each_engine(|| async {
        let app = spawn_with(|_| {}).await;
        let viewer = token(&app, ApiRole::Viewer).await;
        let (s, all) = call(&app, "GET", "/api/v1/assets?limit=5", Some(&viewer), None).await;
        assert_eq!(s, 200, "{all}");
        assert_eq!(all["items"].as_array().unwrap().len(), 5);
        assert!(all["total"].as_i64().unwrap() > 5);
        let (_, found) = call(
            &app,
            "GET",
            "/api/v1/assets?q=%D0%BA%D0%BE%D1%84%D0%B5",
            Some(&viewer),
            None,
        )
        .await;
        let items = found["items"].as_array().unwrap();
        let names: Vec<&str> = items.iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"Кофемашина Jura GIGA X8"), "{names:?}");
        // By name, or by the site's address and description ("Кофейня, зал"):
        // nothing else.
        let coffee_shop =
            qrdesk::store::catalog::location(app.pool(), qrdesk::backend::LocationId(205))
                .await
                .unwrap()
                .unwrap();
        assert!(coffee_shop
            .description
            .as_deref()
            .unwrap()
            .contains("Кофейня"));
        for a in items {
            let name = a["name"].as_str().unwrap().to_lowercase();
            let address = a["address"].as_str().unwrap_or_default();
            assert!(
                name.contains("кофе") || address == coffee_shop.address,
                "{a} matches neither by name nor by site"
            );
        }
        let (s, v) = call(
            &app,
            "GET",
            "/api/v1/assets?limit=1000",
            Some(&viewer),
            None,
        )
        .await;
        assert_eq!((s, error_code(&v)), (400, "invalid_query"));

        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let resp = app
            .client
            .post(format!("{}/api/v1/labels", app.url))
            .bearer_auth(&viewer)
            .json(&json!({"codes": [code.as_str()], "template": "avery-l7160"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/pdf");
        assert!(resp.bytes().await.unwrap().starts_with(b"%PDF-"));
        for (body, expected) in [
            (
                json!({"codes": [code.as_str()], "template": "no-such-sheet"}),
                "invalid_template",
            ),
            (
                json!({"codes": ["00000000"], "template": "avery-l7160"}),
                "invalid_code",
            ),
            (
                json!({"codes": [], "template": "avery-l7160"}),
                "invalid_labels",
            ),
            (json!({"template": "avery-l7160"}), "invalid_body"),
        ] {
            let (s, v) = call(
                &app,
                "POST",
                "/api/v1/labels",
                Some(&viewer),
                Some(body.clone()),
            )
            .await;
            assert_eq!((s, error_code(&v)), (422, expected), "{body}");
        }
    })
    .await;
}

/// Every `$ref` in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// The properties a schema of the document names, and the required ones.
fn schema_keys(doc: &Value, name: &str) -> (Vec<String>, Vec<String>) {
    let s = &doc["components"]["schemas"][name];
    let props = s["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no schema {name}"))
        .keys()
        .cloned()
        .collect();
    let required = s["required"]
        .as_array()
        .map(|r| r.iter().map(|x| x.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    (props, required)
}

/// An answer agrees with its schema: no field the schema lacks, none of the
/// required ones missing.
fn conforms(doc: &Value, name: &str, item: &Value) {
    let (props, required) = schema_keys(doc, name);
    let obj = item.as_object().unwrap_or_else(|| panic!("{name}: {item}"));
    for k in obj.keys() {
        assert!(props.contains(k), "{name}: field {k} is not documented");
    }
    for k in &required {
        assert!(
            obj.contains_key(k),
            "{name}: required {k} missing in {item}"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_is_valid_and_describes_every_route() {
    on_each_engine(|| async {
        let app = spawn_with(|_| {}).await;
        let (s, doc) = call(&app, "GET", "/api/openapi.json", None, None).await;
        assert_eq!(s, 200);
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );

        // The document's own rules: unique operation ids, answers for every
        // operation, path parameters declared, every reference resolves.
        let mut ids = Vec::new();
        let mut documented = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                documented.push(format!("{} {path}", method.to_uppercase()));
                let id = op["operationId"].as_str().expect("operationId").to_owned();
                assert!(!ids.contains(&id), "operationId {id} twice");
                ids.push(id);
                assert!(!op["responses"].as_object().unwrap().is_empty());
                assert!(
                    op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                    "{path}"
                );
                for name in path
                    .split('{')
                    .skip(1)
                    .map(|p| p.split('}').next().unwrap())
                {
                    let declared =
                        op["parameters"].as_array().into_iter().flatten().any(|p| {
                            p["name"] == name && p["in"] == "path" && p["required"] == true
                        });
                    assert!(declared, "{method} {path}: path parameter {name}");
                }
            }
        }
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let name = r.strip_prefix("#/components/schemas/").expect("local refs");
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{r} resolves"
            );
        }
        documented.sort();
        assert_eq!(
            documented,
            [
                "GET /api/v1/assets",
                "GET /api/v1/codes",
                "GET /api/v1/requests",
                "GET /api/v1/requests/{id}",
                "POST /api/v1/codes",
                "POST /api/v1/codes/{code}/move",
                "POST /api/v1/codes/{code}/revoke",
                "POST /api/v1/codes/{code}/rotate",
                "POST /api/v1/labels",
            ]
        );

        // Every documented route is served (not the API's "no such route"),
        // and what it answers has the documented shape.
        let admin = token(&app, ApiRole::Admin).await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let to_revoke = app.code_for(Target::Asset(AssetId(1001))).await;
        let to_rotate = app.code_for(Target::Asset(AssetId(1001))).await;
        let path = app.report(&code, "Не работает принтер в бухгалтерии").await;
        let request = app.wait_status(&path, "delivered", 10).await;
        app.drain_outbox(10).await;
        let body_for = |p: &str| match p {
            "/api/v1/codes" => Some(json!({"asset_id": 1001})),
            "/api/v1/labels" => Some(json!({"codes": [code.as_str()], "template": "avery-l7160"})),
            p if p.ends_with("/move") => Some(json!({"asset_id": 1002})),
            _ => None,
        };
        for route in &documented {
            let (method, template) = route.split_once(' ').unwrap();
            let target = if template.ends_with("/revoke") {
                to_revoke.as_str()
            } else if template.ends_with("/rotate") {
                to_rotate.as_str()
            } else {
                code.as_str()
            };
            let concrete = template
                .replace("{code}", target)
                .replace("{id}", &request.id);
            let (status, answer) =
                call(&app, method, &concrete, Some(&admin), body_for(template)).await;
            assert!((200..300).contains(&status), "{route}: {status} {answer}");
            if template.ends_with("/rotate") {
                conforms(&doc, "RotatedCode", &answer);
            }
        }
        let (_, codes) = call(&app, "GET", "/api/v1/codes", Some(&admin), None).await;
        codes["items"]
            .as_array()
            .unwrap()
            .iter()
            .for_each(|c| conforms(&doc, "CodeOut", c));
        let (_, made) = call(
            &app,
            "POST",
            "/api/v1/codes",
            Some(&admin),
            Some(json!({"blank": true})),
        )
        .await;
        conforms(&doc, "CreatedCode", &made);
        let (_, list) = call(&app, "GET", "/api/v1/requests", Some(&admin), None).await;
        conforms(&doc, "RequestList", &list);
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .for_each(|r| conforms(&doc, "RequestOut", r));
        let (_, one) = call(
            &app,
            "GET",
            &format!("/api/v1/requests/{}", request.id),
            Some(&admin),
            None,
        )
        .await;
        conforms(&doc, "RequestOut", &one);
        conforms(&doc, "Task", &one["task"]);
        conforms(&doc, "Contact", &one["contact"]);
        let (_, assets) = call(&app, "GET", "/api/v1/assets?limit=5", Some(&admin), None).await;
        conforms(&doc, "AssetList", &assets);
        conforms(&doc, "AssetOut", &assets["items"][0]);
        let (_, e) = call(&app, "GET", "/api/v1/codes", None, None).await;
        conforms(&doc, "ErrorBody", &e);
        conforms(&doc, "ErrorDetail", &e["error"]);

        // The reference page: every operation, nothing from another origin.
        let resp = app
            .client
            .get(format!("{}/api/docs", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("default-src 'none'"));
        let page = resp.text().await.unwrap();
        for route in &documented {
            let (method, path) = route.split_once(' ').unwrap();
            assert!(
                page.contains(&format!("{method} {path}")),
                "{route} on /api/docs"
            );
        }
        for attr in ["src=\"", "href=\""] {
            for link in page.split(attr).skip(1) {
                assert!(
                    link.starts_with('/') || link.starts_with('#'),
                    "only our own origin: {}",
                    &link[..link.len().min(60)]
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn code_changes_through_the_api_are_in_the_audit_log_once_each() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = token(&app, ApiRole::Admin).await;
        let (status, created) = call(
            &app,
            "POST",
            "/api/v1/codes",
            Some(&admin),
            Some(json!({"asset_id": 1001})),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let code = created["code"].as_str().unwrap().to_owned();
        let (status, rotated) = call(
            &app,
            "POST",
            &format!("/api/v1/codes/{code}/rotate"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(status, 201, "{rotated}");
        let new = rotated["code"].as_str().unwrap().to_owned();
        // A refused change leaves no line: the old code is not active any more.
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/codes/{code}/rotate"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(status, 409);
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/codes/{new}/revoke"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(status, 200);

        let lines = qrdesk::store::admins::audit_page(app.pool(), None, None, None, 50)
            .await
            .unwrap();
        let mine: Vec<(String, String)> = lines
            .iter()
            .filter(|l| l.action.starts_with("code-"))
            .map(|l| (l.action.clone(), l.detail.clone().unwrap_or_default()))
            .rev()
            .collect();
        let actions: Vec<&str> = mine.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(
            actions,
            ["code-create", "code-rotate", "code-revoke"],
            "{mine:?}"
        );
        assert!(
            mine[1].1.starts_with(&format!("{code} -> {new}")),
            "{mine:?}"
        );
        assert!(
            mine.iter().all(|(_, d)| d.contains("(via api token qrd_")),
            "{mine:?}"
        );
    })
    .await;
}
