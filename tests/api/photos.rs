//! Photos: what the phone sends, what HubEx receives, and what is refused.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use qrdesk::backend::hubex::sim::Fault;
use qrdesk::backend::AssetId;
use qrdesk::domain::codes::Code;
use qrdesk::store::codes::Target;

use crate::helpers::{on_each_engine, spawn_app, Page, TestApp};

const TEXT: &str = "Течёт кондиционер, фото прилагаю";

/// A JPEG as a phone stores it: landscape pixels (red left, blue right) with
/// EXIF orientation 6 ("rotate 90° clockwise to view") and GPS tags.
pub(crate) fn phone_jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, _| {
        if x < w / 2 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    });
    let mut jpeg = Vec::new();
    DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .unwrap();
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes());
    let entry = |tag: u16, kind: u16, count: u32, value: u32| {
        let mut e = Vec::new();
        e.extend_from_slice(&tag.to_le_bytes());
        e.extend_from_slice(&kind.to_le_bytes());
        e.extend_from_slice(&count.to_le_bytes());
        e.extend_from_slice(&value.to_le_bytes());
        e
    };
    // IFD0 at 8: Orientation = 6, GPS IFD pointer = 38.
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend(entry(0x0112, 3, 1, 6));
    tiff.extend(entry(0x8825, 4, 1, 38));
    tiff.extend_from_slice(&0u32.to_le_bytes());
    // GPS IFD at 38: latitude ref "N", latitude 55°45'0" at 68.
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend(entry(0x0001, 2, 2, u32::from_le_bytes(*b"N\0\0\0")));
    tiff.extend(entry(0x0002, 5, 3, 68));
    tiff.extend_from_slice(&0u32.to_le_bytes());
    for (n, d) in [(55u32, 1u32), (45, 1), (0, 1)] {
        tiff.extend_from_slice(&n.to_le_bytes());
        tiff.extend_from_slice(&d.to_le_bytes());
    }
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn encoded(format: ImageFormat, w: u32, h: u32) -> Vec<u8> {
    let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(w, h, Rgb([30, 160, 60])));
    let mut out = Vec::new();
    if format == ImageFormat::WebP {
        image::codecs::webp::WebPEncoder::new_lossless(&mut out)
            .encode(img.as_bytes(), w, h, image::ExtendedColorType::Rgb8)
            .unwrap();
    } else {
        img.write_to(&mut Cursor::new(&mut out), format).unwrap();
    }
    out
}

/// A PNG whose header claims 50,000 × 50,000 pixels: decoding it would need 10 GB.
fn bomb_png() -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        c.extend_from_slice(&crc.finalize().to_be_bytes());
        c
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let idat = miniz_oxide::deflate::compress_to_vec_zlib(&vec![0u8; 1 << 20], 9);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &idat));
    png.extend(chunk(b"IEND", &[]));
    png
}

pub(crate) async fn send(
    app: &TestApp,
    code: &Code,
    description: &str,
    photos: Vec<(&str, Vec<u8>)>,
) -> Page {
    let form = app.get(&format!("/q/{code}")).await;
    let token = form.input("form_token").unwrap();
    let mut multipart = reqwest::multipart::Form::new()
        .text("form_token", token)
        .text("description", description.to_owned())
        .text("name", "Иван".to_owned())
        .text("consent", "1".to_owned());
    for (name, bytes) in photos {
        multipart = multipart.part(
            "photo",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name.to_owned())
                .mime_str("image/jpeg")
                .unwrap(),
        );
    }
    let resp = app
        .client
        .post(format!("{}/q/{code}", app.url))
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    crate::helpers::into_page(resp).await
}

#[tokio::test]
async fn a_phone_photo_arrives_upright_small_and_without_metadata() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1002))).await;
        let original = phone_jpeg(2400, 1800);
        assert!(original.windows(4).any(|w| w == b"Exif"));
        let page = send(&app, &code, TEXT, vec![("IMG_0001.JPG", original)]).await;
        assert_eq!(page.status, 303, "{}", page.body);
        let path = page.location.unwrap();
        let r = app.wait_status(&path, "delivered", 10).await;
        let attachments = crate::helpers::wait_for(10, "the photo to be attached", || async {
            let a = app.sim.attachments();
            (!a.is_empty()).then_some(a)
        })
        .await;
        assert_eq!(attachments.len(), 1);
        let a = &attachments[0];
        assert_eq!(a.task_id, r.task_id.unwrap().0);
        assert!(a.file_name.starts_with("qrdesk-") && a.file_name.ends_with(".jpg"));
        assert_eq!(a.content_type, "image/jpeg");
        assert!(!a.bytes.windows(4).any(|w| w == b"Exif"), "no EXIF left");
        assert!(
            !a.bytes.windows(2).any(|w| w == [0xFF, 0xE1]),
            "no APP1 segment at all"
        );
        let img = image::load_from_memory(&a.bytes).unwrap().to_rgb8();
        assert_eq!(
            (img.width(), img.height()),
            (1536, 2048),
            "turned upright and shrunk to 2048 px"
        );
        let top = img.get_pixel(768, 100);
        let bottom = img.get_pixel(768, 1948);
        assert!(
            top[0] > 150 && top[2] < 100,
            "the red side is on top after rotation: {top:?}"
        );
        assert!(
            bottom[2] > 150 && bottom[0] < 100,
            "the blue side at the bottom: {bottom:?}"
        );

        // The status page shows the photo; only its own token opens it.
        let status = app.get(&path).await;
        let href = status
            .body
            .split("<a href=\"/t/")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .find(|s| s.contains("/photo/"))
            .map(|s| format!("/t/{s}"))
            .expect("photo link");
        let photo = app
            .client
            .get(format!("{}{href}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(photo.headers()["content-type"], "image/jpeg");
        let other = href.replacen(&path[3..], "0123456789abcdefghjkmnpqrs", 1);
        assert_eq!(app.get(&other).await.status, 404);

        // The page itself shows a small copy, made once and kept.
        let small = href.replacen("/photo/", "/thumb/", 1);
        assert!(
            status.body.contains(&format!("src=\"{small}\"")),
            "{}",
            status.body
        );
        for _ in 0..2 {
            let thumb = app
                .client
                .get(format!("{}{small}", app.url))
                .send()
                .await
                .unwrap();
            assert_eq!(thumb.headers()["content-type"], "image/jpeg");
            let bytes = thumb.bytes().await.unwrap();
            let img = image::load_from_memory(&bytes).unwrap();
            assert_eq!((img.width(), img.height()), (144, 192), "192 px");
            assert!(bytes.len() < a.bytes.len() / 10, "{} bytes", bytes.len());
        }
        let kept = std::fs::read_dir(app.dir.0.join("photos"))
            .unwrap()
            .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
            .filter(|f| {
                f.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".t.jpg")
            })
            .count();
        assert_eq!(kept, 1, "the small copy is kept beside the photo");
        assert_eq!(
            app.get(&other.replacen("/photo/", "/thumb/", 1))
                .await
                .status,
            404
        );
    })
    .await;
}

/// A 640×480 HEIC written by libheif's `heif-enc` (x265): red top, blue bottom.
const HEIC: &[u8] = include_bytes!("../fixtures/red-over-blue.heic");

#[tokio::test]
async fn iphone_heic_photos_are_converted_and_heic_bombs_refused() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1002))).await;
        let page = send(&app, &code, TEXT, vec![("IMG_0002.HEIC", HEIC.to_vec())]).await;
        assert_eq!(page.status, 303, "{}", page.body);
        app.wait_status(&page.location.unwrap(), "delivered", 10)
            .await;
        let a = crate::helpers::wait_for(10, "the photo to be attached", || async {
            app.sim.attachments().into_iter().next()
        })
        .await;
        assert_eq!(a.content_type, "image/jpeg");
        let img = image::load_from_memory_with_format(&a.bytes, ImageFormat::Jpeg)
            .unwrap()
            .to_rgb8();
        assert_eq!((img.width(), img.height()), (640, 480));
        let (top, bottom) = (img.get_pixel(320, 60), img.get_pixel(320, 420));
        assert!(top[0] > 150 && top[2] < 100, "red on top: {top:?}");
        assert!(bottom[2] > 150 && bottom[0] < 100, "blue below: {bottom:?}");

        // The same file claiming 50,000 × 50,000 pixels: refused before decoding.
        let mut bomb = HEIC.to_vec();
        let at = bomb
            .windows(4)
            .position(|w| w == b"ispe")
            .expect("an ispe box")
            + 8;
        bomb[at..at + 8].copy_from_slice(&[0, 0, 0xC3, 0x50, 0, 0, 0xC3, 0x50]);
        let page = send(&app, &code, TEXT, vec![("big.heic", bomb)]).await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("мегапикселей"), "{}", page.body);
        // Cut short: a clear message, the text kept.
        let page = send(
            &app,
            &code,
            TEXT,
            vec![("cut.heic", HEIC[..HEIC.len() / 2].to_vec())],
        )
        .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("HEIC/HEIF не удалось прочитать") && page.body.contains(TEXT));
        assert_no_uploads_left(&app);
    })
    .await;
}

#[tokio::test]
async fn png_and_webp_are_accepted_and_five_is_the_limit() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1003))).await;
        let page = send(
            &app,
            &code,
            TEXT,
            vec![
                ("a.png", encoded(ImageFormat::Png, 640, 480)),
                ("b.webp", encoded(ImageFormat::WebP, 320, 240)),
            ],
        )
        .await;
        assert_eq!(page.status, 303, "{}", page.body);
        app.wait_status(&page.location.unwrap(), "delivered", 10)
            .await;
        crate::helpers::wait_for(10, "two photos attached", || async {
            (app.sim.attachments().len() == 2).then_some(())
        })
        .await;

        let six: Vec<_> = (0..6)
            .map(|i| {
                (
                    ["1.jpg", "2.jpg", "3.jpg", "4.jpg", "5.jpg", "6.jpg"][i],
                    encoded(ImageFormat::Jpeg, 64, 64),
                )
            })
            .collect();
        let page = send(&app, &code, TEXT, six).await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("не больше 5 фото"), "{}", page.body);
        assert!(page.body.contains(TEXT), "the text is kept");
        assert_no_uploads_left(&app);
    })
    .await;
}

/// Uploads wait on disk, not in memory; none is left once a request is answered.
fn assert_no_uploads_left(app: &TestApp) {
    let dir = std::path::Path::new(&app.config.server.data_dir).join("photos/incoming");
    assert!(dir.is_dir(), "uploads are spooled to {}", dir.display());
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "upload files left behind: {left:?}");
}

#[tokio::test]
async fn bad_photos_are_refused_clearly_and_the_text_is_kept() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1003))).await;
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04".to_vec(),
                "JPEG, PNG, WebP или HEIC",
            ),
            (bomb_png(), "мегапикселей"),
            (
                b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic".to_vec(),
                "HEIC",
            ),
            (
                vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F'],
                "повреждён",
            ),
            (
                b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
                "JPEG, PNG, WebP или HEIC",
            ),
        ];
        for (bytes, message) in cases {
            let page = send(
                &app,
                &code,
                TEXT,
                vec![
                    ("photo.jpg", encoded(ImageFormat::Jpeg, 64, 64)),
                    ("renamed.jpg", bytes),
                ],
            )
            .await;
            assert_eq!(page.status, 422, "{message}");
            assert!(
                page.body.contains("Фото 2") && page.body.contains(message),
                "{message}: {}",
                page.body
            );
            assert!(page.body.contains(TEXT), "text kept");
        }
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
            .fetch_one(app.pool())
            .await
            .unwrap();
        assert_eq!(stored, 0, "nothing half-stored");
        assert_no_uploads_left(&app);
    })
    .await;
}

#[tokio::test]
async fn upload_faults_never_attach_a_photo_twice() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1002))).await;
        let faults = [
            Fault::Status {
                status: 500,
                retry_after: None,
            },
            Fault::Status {
                status: 503,
                retry_after: Some(1),
            },
            Fault::Status {
                status: 429,
                retry_after: Some(1),
            },
            Fault::Timeout { millis: 1500 },
            Fault::Drop,
            Fault::CreatedThenDrop,
            Fault::CreatedThenHang { millis: 1500 },
        ];
        let mut paths = Vec::new();
        for fault in faults {
            app.sim
                .fail("POST", "/WORK/TaskAttachments/upload/fromForm", fault, 1);
            let page = send(
                &app,
                &code,
                TEXT,
                vec![
                    ("a.jpg", encoded(ImageFormat::Jpeg, 200, 100)),
                    ("b.jpg", encoded(ImageFormat::Png, 100, 200)),
                ],
            )
            .await;
            assert_eq!(page.status, 303, "{}", page.body);
            paths.push(page.location.unwrap());
        }
        let expected = paths.len() * 2;
        crate::helpers::wait_for(40, "every photo attached", || async {
            (app.sim.attachments().len() >= expected).then_some(())
        })
        .await;
        app.drain_outbox(20).await;
        let attachments = app.sim.attachments();
        assert_eq!(
            attachments.len(),
            expected,
            "exactly one attachment per photo"
        );
        let mut names: Vec<_> = attachments.iter().map(|a| a.file_name.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), expected, "no photo twice");
        for task in app.tasks() {
            assert_eq!(
                attachments.iter().filter(|a| a.task_id == task.id).count(),
                2,
                "two photos on task {}",
                task.id
            );
        }
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM attachments WHERE uploaded_at IS NULL")
                .fetch_one(app.pool())
                .await
                .unwrap();
        assert_eq!(pending, 0);
    })
    .await;
}

#[tokio::test]
async fn delivered_photos_are_removed_after_the_retention_period() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1002))).await;
        let page = send(
            &app,
            &code,
            TEXT,
            vec![("a.jpg", encoded(ImageFormat::Jpeg, 200, 100))],
        )
        .await;
        let path = page.location.unwrap();
        app.wait_status(&path, "delivered", 10).await;
        crate::helpers::wait_for(10, "the photo attached", || async {
            (app.sim.attachments().len() == 1).then_some(())
        })
        .await;
        // The page's small copy exists too, and goes with the photo.
        let small = app
            .get(&path)
            .await
            .body
            .split("src=\"/t/")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .map(|s| format!("/t/{s}"))
            .expect("thumb");
        assert_eq!(app.get(&small).await.status, 200);
        let blobs = qrdesk::media::BlobStore::new(&app.dir.0);
        let kept = qrdesk::delivery::sweep_photos(
            app.pool(),
            &blobs,
            std::time::Duration::from_secs(3600),
        )
        .await
        .unwrap();
        assert_eq!(kept, 0, "not yet");
        // With no retention, the photo goes as soon as it is older than now.
        let removed = crate::helpers::wait_for(5, "the photo swept", || async {
            let n = qrdesk::delivery::sweep_photos(app.pool(), &blobs, std::time::Duration::ZERO)
                .await
                .unwrap();
            (n > 0).then_some(n)
        })
        .await;
        assert_eq!(removed, 1);
        let files = std::fs::read_dir(app.dir.0.join("photos"))
            .unwrap()
            .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
            .count();
        assert_eq!(files, 0, "the file is gone");
        assert!(
            !app.get(&path).await.body.contains("/photo/"),
            "no broken photo links"
        );
    })
    .await;
}
