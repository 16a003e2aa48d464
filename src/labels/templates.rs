//! Label stock: sheet templates for office printers and media for thermal
//! printers, with the geometry from `shared/labels/templates.md` (all mm, origin
//! at the sheet's top-left corner, portrait).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    Rect,
    Round,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Many labels on an A4 or Letter sheet.
    Sheet,
    /// One label per page, the page being the label (roll printers).
    Thermal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    pub page_w: f32,
    pub page_h: f32,
    pub cols: u32,
    pub rows: u32,
    pub label_w: f32,
    pub label_h: f32,
    pub top: f32,
    pub left: f32,
    pub h_pitch: f32,
    pub v_pitch: f32,
    pub shape: Shape,
    /// Corner radius, drawn only on the alignment test page.
    pub corner: f32,
}

pub const A4: (f32, f32) = (210.0, 297.0);
pub const LETTER: (f32, f32) = (215.9, 279.4);
/// Most labels per job: more is refused with a clear message.
pub const MAX_LABELS_PER_JOB: usize = 5000;

#[allow(clippy::too_many_arguments)]
fn sheet(
    id: &str,
    name: &str,
    page: (f32, f32),
    (cols, rows): (u32, u32),
    (label_w, label_h): (f32, f32),
    top: f32,
    left: f32,
    h_pitch: f32,
    v_pitch: f32,
    shape: Shape,
    corner: f32,
) -> Template {
    Template {
        id: id.into(),
        name: name.into(),
        kind: Kind::Sheet,
        page_w: page.0,
        page_h: page.1,
        cols,
        rows,
        label_w,
        label_h,
        top,
        left,
        h_pitch,
        v_pitch,
        shape,
        corner,
    }
}

/// A roll label: the page is the label.
fn roll(id: &str, name: &str, w: f32, h: f32, shape: Shape) -> Template {
    Template {
        id: id.into(),
        name: name.into(),
        kind: Kind::Thermal,
        page_w: w,
        page_h: h,
        cols: 1,
        rows: 1,
        label_w: w,
        label_h: h,
        top: 0.0,
        left: 0.0,
        h_pitch: w,
        v_pitch: h,
        shape,
        corner: 0.0,
    }
}

/// Every built-in template, sheets first.
pub fn builtin() -> Vec<Template> {
    use Shape::{Rect, Round};
    vec![
        sheet(
            "avery-l7160",
            "Avery L7160 / J8160 / HERMA 4677 — 63.5×38.1, 3×7",
            A4,
            (3, 7),
            (63.5, 38.1),
            15.15,
            7.20,
            66.04,
            38.10,
            Rect,
            1.76,
        ),
        sheet(
            "avery-l7163",
            "Avery L7163 / J8163 — 99.1×38.1, 2×7",
            A4,
            (2, 7),
            (99.06, 38.1),
            15.15,
            4.67,
            101.60,
            38.10,
            Rect,
            1.76,
        ),
        sheet(
            "avery-l7162",
            "Avery L7162 / J8162 — 99.1×33.9, 2×8",
            A4,
            (2, 8),
            (99.06, 33.87),
            13.02,
            4.67,
            101.60,
            33.87,
            Rect,
            1.76,
        ),
        sheet(
            "avery-l7159",
            "Avery L7159 / J8159 — 64×33.9, 3×8",
            A4,
            (3, 8),
            (64.0, 33.86),
            13.06,
            6.46,
            66.54,
            33.86,
            Rect,
            0.0,
        ),
        sheet(
            "avery-l7165",
            "Avery L7165 / J8165 — 99.1×67.7, 2×4",
            A4,
            (2, 4),
            (99.06, 67.73),
            13.04,
            4.67,
            101.60,
            67.73,
            Rect,
            0.0,
        ),
        sheet(
            "avery-l7164",
            "Avery L7164 / J8164 — 63.5×72, 3×4",
            A4,
            (3, 4),
            (63.5, 71.97),
            4.57,
            7.21,
            66.04,
            71.97,
            Rect,
            3.0,
        ),
        sheet(
            "avery-l7651",
            "Avery L7651 / J8651 — 38.1×21.2, 5×13",
            A4,
            (5, 13),
            (38.1, 21.17),
            10.90,
            4.67,
            40.64,
            21.17,
            Rect,
            1.76,
        ),
        sheet(
            "zweckform-l4732",
            "Avery Zweckform L4732 — 35.6×16.9, 5×16",
            A4,
            (5, 16),
            (35.56, 16.93),
            12.99,
            11.02,
            38.10,
            16.93,
            Rect,
            1.5,
        ),
        sheet(
            "zweckform-3474",
            "Avery Zweckform 3474 — 70×37.1, 3×8",
            A4,
            (3, 8),
            (70.0, 37.1),
            0.0,
            0.0,
            70.0,
            37.1,
            Rect,
            0.0,
        ),
        sheet(
            "zweckform-3475",
            "Avery Zweckform 3475 — 70×36, 3×8",
            A4,
            (3, 8),
            (70.0, 36.0),
            4.43,
            0.0,
            70.0,
            36.0,
            Rect,
            0.0,
        ),
        sheet(
            "zweckform-3490",
            "Avery Zweckform 3490 — 70×36, 3×8",
            A4,
            (3, 8),
            (70.0, 36.0),
            4.43,
            0.0,
            70.0,
            36.0,
            Rect,
            0.0,
        ),
        sheet(
            "zweckform-3422",
            "Avery Zweckform 3422 — 70×35, 3×8",
            A4,
            (3, 8),
            (70.0, 35.0),
            8.43,
            0.0,
            70.0,
            35.0,
            Rect,
            0.0,
        ),
        sheet(
            "zweckform-3666",
            "Avery Zweckform 3666 — 38.1×21.2, 5×13",
            A4,
            (5, 13),
            (38.1, 21.2),
            10.63,
            9.75,
            38.10,
            21.20,
            Rect,
            0.0,
        ),
        sheet(
            "zweckform-4780",
            "Avery Zweckform 4780 / 3657 — 48.5×25.4, 4×10",
            A4,
            (4, 10),
            (48.5, 25.4),
            21.43,
            8.00,
            48.50,
            25.40,
            Rect,
            0.0,
        ),
        sheet(
            "zweckform-3661",
            "Avery Zweckform 3661 — 70×67.7, 3×4",
            A4,
            (3, 4),
            (70.0, 67.7),
            13.03,
            0.0,
            70.0,
            67.7,
            Rect,
            0.0,
        ),
        sheet(
            "avery-l7630",
            "Avery L7630 — round Ø63.5, 3×4",
            A4,
            (3, 4),
            (63.5, 63.5),
            14.75,
            5.25,
            68.0,
            68.0,
            Round,
            0.0,
        ),
        sheet(
            "zweckform-3415",
            "Avery Zweckform 3415 — round Ø40, 4×6",
            A4,
            (4, 6),
            (40.0, 40.0),
            13.43,
            16.00,
            46.0,
            46.0,
            Round,
            0.0,
        ),
        sheet(
            "herma-4360",
            "HERMA 4360 — 70×36, 3×8",
            A4,
            (3, 8),
            (70.0, 36.0),
            4.50,
            0.0,
            70.0,
            36.0,
            Rect,
            0.0,
        ),
        sheet(
            "herma-4474",
            "HERMA 4474 — 48.5×25.4, 4×10",
            A4,
            (4, 10),
            (48.5, 25.4),
            21.50,
            8.00,
            48.50,
            25.40,
            Rect,
            0.0,
        ),
        sheet(
            "herma-10003",
            "HERMA 10003 — 35.6×16.9, 5×16",
            A4,
            (5, 16),
            (35.56, 16.93),
            13.06,
            11.02,
            38.10,
            16.93,
            Rect,
            0.0,
        ),
        sheet(
            "hisago-op3030",
            "Hisago OP3030 — square 40×40, 5×7",
            A4,
            (5, 7),
            (40.0, 40.0),
            8.5,
            5.0,
            40.0,
            40.0,
            Rect,
            0.0,
        ),
        sheet(
            "rayfilm-2307",
            "Rayfilm 2307 — square 35×35, 6×8",
            A4,
            (6, 8),
            (35.0, 35.0),
            8.5,
            0.0,
            35.0,
            35.0,
            Rect,
            0.0,
        ),
        sheet(
            "avery-5160",
            "Avery 5160 (Letter) — 66.7×25.4, 3×10",
            LETTER,
            (3, 10),
            (66.68, 25.4),
            12.70,
            4.78,
            69.85,
            25.40,
            Rect,
            1.59,
        ),
        sheet(
            "avery-5163",
            "Avery 5163 (Letter) — 101.6×50.8, 2×5",
            LETTER,
            (2, 5),
            (101.6, 50.8),
            12.70,
            3.96,
            106.36,
            50.80,
            Rect,
            3.18,
        ),
        sheet(
            "avery-3274",
            "Avery 3274 (Letter) — square 63.5, 3×3",
            LETTER,
            (3, 3),
            (63.5, 63.5),
            31.75,
            7.94,
            68.26,
            76.20,
            Rect,
            0.0,
        ),
        sheet(
            "onlinelabels-ol5175",
            "OnlineLabels OL5175 (Letter) — square 45.7, 4×5",
            LETTER,
            (4, 5),
            (45.72, 45.72),
            25.40,
            16.51,
            45.72,
            45.72,
            Rect,
            0.0,
        ),
        roll(
            "brother-dk11201",
            "Brother QL DK-11201 — 90×29 die-cut",
            90.0,
            29.0,
            Rect,
        ),
        roll(
            "brother-dk11209",
            "Brother QL DK-11209 — 62×29 die-cut",
            62.0,
            29.0,
            Rect,
        ),
        roll(
            "brother-dk11208",
            "Brother QL DK-11208 — 90×38 die-cut",
            90.0,
            38.0,
            Rect,
        ),
        roll(
            "brother-dk11202",
            "Brother QL DK-11202 — 62×100 die-cut",
            62.0,
            100.0,
            Rect,
        ),
        roll(
            "brother-dk11221",
            "Brother QL DK-11221 — square 23×23",
            23.0,
            23.0,
            Rect,
        ),
        roll(
            "brother-dk22205",
            "Brother QL DK-22205 — 62 mm roll, 62 mm long",
            62.0,
            62.0,
            Rect,
        ),
        roll("dymo-11354", "DYMO 11354 — 57×32", 57.0, 32.0, Rect),
        roll("dymo-99012", "DYMO 99012 — 89×36", 89.0, 36.0, Rect),
        roll("dymo-30332", "DYMO 30332 — square 25×25", 25.0, 25.0, Rect),
        roll("roll-58x40", "Thermal roll 58×40", 58.0, 40.0, Rect),
        roll("roll-58x30", "Thermal roll 58×30", 58.0, 30.0, Rect),
        roll("roll-40x30", "Thermal roll 40×30", 40.0, 30.0, Rect),
        roll("roll-100x50", "Thermal roll 100×50", 100.0, 50.0, Rect),
        roll(
            "roll-100x150",
            "Thermal roll 100×150 (4×6″)",
            100.0,
            150.0,
            Rect,
        ),
    ]
}

pub fn find(id: &str) -> Option<Template> {
    builtin().into_iter().find(|t| t.id == id)
}

/// A label's rectangle on the page: left, top, width, height (mm).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slot {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// Why a custom template cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

impl Template {
    pub fn per_page(&self) -> usize {
        (self.cols * self.rows) as usize
    }

    /// Position of label `index` (row-major, 0-based) on its page, shifted by
    /// the printer's calibration offset.
    pub fn slot(&self, index: usize, offset: (f32, f32)) -> Slot {
        let i = index % self.per_page();
        let (col, row) = (
            (i % self.cols as usize) as f32,
            (i / self.cols as usize) as f32,
        );
        Slot {
            x: self.left + col * self.h_pitch + offset.0,
            y: self.top + row * self.v_pitch + offset.1,
            w: self.label_w,
            h: self.label_h,
        }
    }

    /// A template from a person's numbers, checked so that labels do not
    /// overlap and stay on the page.
    #[allow(clippy::too_many_arguments)]
    pub fn custom(
        page: (f32, f32),
        cols: u32,
        rows: u32,
        label: (f32, f32),
        top: f32,
        left: f32,
        h_pitch: f32,
        v_pitch: f32,
        shape: Shape,
    ) -> Result<Template, TemplateError> {
        let err = |m: &'static str| Err(TemplateError(crate::i18n::tr::tr(m).into()));
        let all = [
            page.0, page.1, label.0, label.1, top, left, h_pitch, v_pitch,
        ];
        if all.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return err("все размеры — числа в миллиметрах, не меньше 0");
        }
        if !(1..=50).contains(&cols) || !(1..=100).contains(&rows) {
            return err("колонок может быть от 1 до 50, рядов — от 1 до 100");
        }
        if !(5.0..=1000.0).contains(&page.0) || !(5.0..=1000.0).contains(&page.1) {
            return err("каждая сторона листа — от 5 до 1000 мм");
        }
        if label.0 < 5.0 || label.1 < 5.0 {
            return err("этикетка должна быть не меньше 5×5 мм");
        }
        if cols > 1 && h_pitch + 0.01 < label.0 {
            return err("шаг по горизонтали меньше ширины этикетки: этикетки перекрываются");
        }
        if rows > 1 && v_pitch + 0.01 < label.1 {
            return err("шаг по вертикали меньше высоты этикетки: этикетки перекрываются");
        }
        let right = left + (cols - 1) as f32 * h_pitch + label.0;
        let bottom = top + (rows - 1) as f32 * v_pitch + label.1;
        if right > page.0 + 0.05 || bottom > page.1 + 0.05 {
            return err("этикетки не помещаются на лист: проверьте поля, шаги и количество");
        }
        Ok(Template {
            id: "custom".into(),
            name: format!("Custom — {}×{}, {cols}×{rows}", label.0, label.1),
            kind: Kind::Sheet,
            page_w: page.0,
            page_h: page.1,
            cols,
            rows,
            label_w: label.0,
            label_h: label.1,
            top,
            left,
            h_pitch,
            v_pitch,
            shape,
            corner: 0.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() <= 0.1
    }

    #[test]
    fn there_are_enough_a4_sheets_and_thermal_media() {
        let all = builtin();
        let a4 = all
            .iter()
            .filter(|t| t.kind == Kind::Sheet && t.page_w == 210.0)
            .count();
        assert!(a4 >= 12, "{a4} A4 templates");
        assert!(all.iter().filter(|t| t.kind == Kind::Thermal).count() >= 8);
        let mut ids: Vec<_> = all.iter().map(|t| t.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "ids are unique");
    }

    #[test]
    fn every_label_stays_on_its_page() {
        for t in builtin() {
            for i in 0..t.per_page() {
                let s = t.slot(i, (0.0, 0.0));
                assert!(s.x >= -0.01 && s.y >= -0.01, "{} #{i}", t.id);
                assert!(
                    s.x + s.w <= t.page_w + 0.3,
                    "{} #{i} right edge {}",
                    t.id,
                    s.x + s.w
                );
                assert!(
                    s.y + s.h <= t.page_h + 0.3,
                    "{} #{i} bottom edge {}",
                    t.id,
                    s.y + s.h
                );
            }
        }
    }

    #[test]
    fn positions_match_the_template_numbers() {
        // (id, label index, expected left, expected top) from templates.md.
        let cases = [
            ("avery-l7160", 0, 7.20, 15.15),
            ("avery-l7160", 2, 7.20 + 2.0 * 66.04, 15.15),
            ("avery-l7160", 20, 7.20 + 2.0 * 66.04, 15.15 + 6.0 * 38.10),
            ("avery-l7163", 13, 4.67 + 101.60, 15.15 + 6.0 * 38.10),
            ("avery-l7651", 64, 4.67 + 4.0 * 40.64, 10.90 + 12.0 * 21.17),
            (
                "zweckform-4780",
                39,
                8.00 + 3.0 * 48.50,
                21.43 + 9.0 * 25.40,
            ),
            ("zweckform-3415", 23, 16.00 + 3.0 * 46.0, 13.43 + 5.0 * 46.0),
            ("avery-5160", 29, 4.78 + 2.0 * 69.85, 12.70 + 9.0 * 25.40),
        ];
        for (id, i, x, y) in cases {
            let s = find(id).unwrap().slot(i, (0.0, 0.0));
            assert!(
                close(s.x, x) && close(s.y, y),
                "{id} #{i}: ({}, {}) vs ({x}, {y})",
                s.x,
                s.y
            );
        }
        // Right margin is symmetric for L7160 (±0.2 mm, as the reference notes).
        let t = find("avery-l7160").unwrap();
        let last = t.slot(2, (0.0, 0.0));
        assert!((210.0 - (last.x + last.w) - t.left).abs() < 0.2);
    }

    #[test]
    fn calibration_offset_moves_every_label() {
        let t = find("avery-l7160").unwrap();
        let s = t.slot(4, (0.5, -1.25));
        let base = t.slot(4, (0.0, 0.0));
        assert!(close(s.x - base.x, 0.5) && close(s.y - base.y, -1.25));
        assert_eq!(t.slot(21, (0.0, 0.0)), t.slot(0, (0.0, 0.0)), "page wraps");
    }

    #[test]
    fn custom_templates_are_checked() {
        assert!(
            Template::custom(A4, 3, 7, (63.5, 38.1), 15.15, 7.2, 66.04, 38.1, Shape::Rect).is_ok()
        );
        let e = Template::custom(A4, 3, 7, (63.5, 38.1), 15.15, 7.2, 60.0, 38.1, Shape::Rect)
            .unwrap_err();
        assert!(e.0.contains("перекрываются"));
        let e = Template::custom(A4, 4, 7, (63.5, 38.1), 15.15, 7.2, 66.04, 38.1, Shape::Rect)
            .unwrap_err();
        assert!(e.0.contains("не помещаются"));
        assert!(
            Template::custom(A4, 0, 7, (63.5, 38.1), 0.0, 0.0, 66.0, 38.1, Shape::Rect).is_err()
        );
        assert!(Template::custom(
            A4,
            1,
            1,
            (f32::NAN, 38.1),
            0.0,
            0.0,
            66.0,
            38.1,
            Shape::Rect
        )
        .is_err());
    }
}
