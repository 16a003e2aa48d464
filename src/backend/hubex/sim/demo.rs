//! The demo tenant the simulator starts with: three участки open to the
//! anonymous user and one closed to it, a handful of sites and companies, and
//! about twenty assets with serial and inventory numbers. [`big`] makes a
//! tenant of any size for call-count tests and benchmarks.

use std::collections::HashMap;

pub const ANONYMOUS_USER_ID: i64 = 789;
pub const SERVICE_TOKEN: &str = "demo-service-token";

#[derive(Debug, Clone)]
pub struct SimDistrict {
    pub id: i64,
    pub name: String,
    pub parent_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct SimLocation {
    pub id: i64,
    pub address: String,
    pub description: String,
    /// "lat:lng".
    pub coordinate: String,
    pub district: i64,
}

#[derive(Debug, Clone)]
pub struct SimCompany {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct DemoAsset {
    pub id: i64,
    pub name: String,
    pub serial: String,
    pub inventory: String,
    pub location_id: i64,
    pub company_id: i64,
}

pub struct Tenant {
    pub districts: Vec<SimDistrict>,
    /// Districts where the anonymous user may create tasks.
    pub anonymous_districts: Vec<i64>,
    pub companies: Vec<SimCompany>,
    pub locations: Vec<SimLocation>,
    pub assets: Vec<DemoAsset>,
    pub task_types: Vec<(i64, &'static str, bool)>,
    pub request_methods: Vec<(i64, &'static str)>,
    pub criticalities: Vec<(i64, &'static str, &'static str, bool)>,
    pub statuses: Vec<(i64, &'static str, &'static str)>,
    location_index: HashMap<i64, usize>,
    asset_index: HashMap<i64, usize>,
}

impl Tenant {
    fn indexed(mut self) -> Tenant {
        self.location_index = self
            .locations
            .iter()
            .enumerate()
            .map(|(i, l)| (l.id, i))
            .collect();
        self.asset_index = self
            .assets
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id, i))
            .collect();
        self
    }

    pub fn location(&self, id: i64) -> Option<&SimLocation> {
        self.location_index.get(&id).map(|&i| &self.locations[i])
    }

    pub fn district_of_location(&self, location_id: i64) -> Option<i64> {
        self.location(location_id).map(|l| l.district)
    }

    pub fn asset(&self, id: i64) -> Option<&DemoAsset> {
        self.asset_index.get(&id).map(|&i| &self.assets[i])
    }

    pub fn district_of_asset(&self, a: &DemoAsset) -> Option<i64> {
        self.district_of_location(a.location_id)
    }

    /// Renames an asset, as staff editing it in HubEx would.
    pub fn rename_asset(&mut self, id: i64, name: &str) -> bool {
        match self.asset_index.get(&id) {
            Some(&i) => {
                self.assets[i].name = name.into();
                true
            }
            None => false,
        }
    }

    /// Adds an asset at a location.
    pub fn add_asset(&mut self, asset: DemoAsset) {
        self.asset_index.insert(asset.id, self.assets.len());
        self.assets.push(asset);
    }
}

fn location(id: i64, address: &str, description: &str, district: i64) -> SimLocation {
    SimLocation {
        id,
        address: address.into(),
        description: description.into(),
        coordinate: format!("59.{:04}:30.{:04}", 9000 + id % 1000, 3000 + id % 1000),
        district,
    }
}

fn dictionaries(mut t: Tenant) -> Tenant {
    t.task_types = vec![(1, "Ремонт", true), (2, "Техническое обслуживание", false)];
    t.request_methods = vec![
        (1, "Телефон"),
        (2, "Электронная почта"),
        (3, "Паспорт объекта"),
        (4, "QR-код / Web"),
    ];
    t.criticalities = vec![
        (1, "Низкая", "#8bc34a", false),
        (2, "Обычная", "#2196f3", true),
        (3, "Высокая", "#f44336", false),
    ];
    t.statuses = vec![
        (1, "Новая", "#2196f3"),
        (2, "В работе", "#ff9800"),
        (3, "Выполнена", "#4caf50"),
        (4, "Закрыта", "#9e9e9e"),
    ];
    t
}

fn empty() -> Tenant {
    Tenant {
        districts: Vec::new(),
        anonymous_districts: Vec::new(),
        companies: Vec::new(),
        locations: Vec::new(),
        assets: Vec::new(),
        task_types: Vec::new(),
        request_methods: Vec::new(),
        criticalities: Vec::new(),
        statuses: Vec::new(),
        location_index: HashMap::new(),
        asset_index: HashMap::new(),
    }
}

pub fn tenant() -> Tenant {
    let district = |id, name: &str| SimDistrict {
        id,
        name: name.into(),
        parent_id: None,
    };
    let company = |id, name: &str| SimCompany {
        id,
        name: name.into(),
    };
    let a = |id, name: &str, serial: &str, inventory: &str, location_id, company_id| DemoAsset {
        id,
        name: name.into(),
        serial: serial.into(),
        inventory: inventory.into(),
        location_id,
        company_id,
    };
    let mut t = dictionaries(empty());
    t.districts = vec![
        district(1, "Центральный участок"),
        district(2, "Северный участок"),
        district(3, "Южный участок"),
        district(4, "Склад (служебный)"),
    ];
    t.anonymous_districts = vec![1, 2, 3];
    t.companies = vec![
        company(101, "ООО «Бизнес-центр Невский»"),
        company(102, "АО «Северная мануфактура»"),
        company(103, "ООО «Кофейня на Южной»"),
    ];
    t.locations = vec![
        location(
            201,
            "Санкт-Петербург, Невский пр., 28",
            "БЦ «Невский», 3 этаж",
            1,
        ),
        location(
            202,
            "Санкт-Петербург, Невский пр., 28",
            "БЦ «Невский», подвал, венткамера",
            1,
        ),
        location(203, "Санкт-Петербург, ул. Шостаковича, 8", "Цех № 2", 2),
        location(204, "Санкт-Петербург, пр. Просвещения, 19", "Проходная", 2),
        location(205, "Санкт-Петербург, Южное ш., 55", "Кофейня, зал", 3),
        location(
            206,
            "Санкт-Петербург, Складская ул., 4",
            "Склад запчастей",
            4,
        ),
    ];
    t.assets = vec![
        a(
            1001,
            "Кофемашина Jura GIGA X8",
            "JX8-0041772",
            "ИНВ-000117",
            201,
            101,
        ),
        a(
            1002,
            "Кондиционер Daikin FTXM35R",
            "E004512",
            "ИНВ-000118",
            201,
            101,
        ),
        a(
            1003,
            "МФУ HP LaserJet Pro M428fdw",
            "PHBLM31245",
            "ИНВ-000119",
            201,
            101,
        ),
        a(
            1004,
            "Кулер для воды Ecotronic H1-L",
            "ECT-77120",
            "ИНВ-000120",
            201,
            101,
        ),
        a(
            1005,
            "Приточная установка Systemair Topvex",
            "TVX-2201-88",
            "ИНВ-000201",
            202,
            101,
        ),
        a(
            1006,
            "Насос циркуляционный Grundfos UPS 32-80",
            "GF-98123",
            "ИНВ-000202",
            202,
            101,
        ),
        a(
            1007,
            "Щит освещения ЩО-3",
            "SHO-3-0012",
            "ИНВ-000203",
            202,
            101,
        ),
        a(
            1008,
            "Станок токарный 16К20",
            "16K20-4471",
            "ИНВ-010001",
            203,
            102,
        ),
        a(
            1009,
            "Компрессор Remeza ВК20",
            "RZ-VK20-5512",
            "ИНВ-010002",
            203,
            102,
        ),
        a(
            1010,
            "Кран-балка 2 т",
            "KB2-1988-07",
            "ИНВ-010003",
            203,
            102,
        ),
        a(
            1011,
            "Вытяжка местная ВМ-1",
            "VM1-303",
            "ИНВ-010004",
            203,
            102,
        ),
        a(
            1012,
            "Турникет PERCo TTR-08A",
            "TTR08-66120",
            "ИНВ-010101",
            204,
            102,
        ),
        a(
            1013,
            "Камера видеонаблюдения Hikvision DS-2CD",
            "DS2CD-J77812",
            "ИНВ-010102",
            204,
            102,
        ),
        a(
            1014,
            "Шлагбаум CAME GARD 4000",
            "CG4-22019",
            "ИНВ-010103",
            204,
            102,
        ),
        a(
            1015,
            "Кофемашина La Marzocco Linea PB",
            "LM-PB-10233",
            "ИНВ-020001",
            205,
            103,
        ),
        a(
            1016,
            "Кофемолка Mahlkönig E65S",
            "MK-E65S-4410",
            "ИНВ-020002",
            205,
            103,
        ),
        a(
            1017,
            "Холодильная витрина Polair",
            "PL-DM-18877",
            "ИНВ-020003",
            205,
            103,
        ),
        a(
            1018,
            "Посудомоечная машина Hobart",
            "HB-FX-2231",
            "ИНВ-020004",
            205,
            103,
        ),
        a(
            1019,
            "Льдогенератор Scotsman AC 46",
            "SC-AC46-902",
            "ИНВ-020005",
            205,
            103,
        ),
        a(
            1020,
            "Погрузчик Toyota 8FBE15",
            "TY8F-50022",
            "ИНВ-030001",
            206,
            102,
        ),
        a(
            1021,
            "Стеллаж паллетный (ряд А)",
            "ST-A-01",
            "ИНВ-030002",
            206,
            102,
        ),
    ];
    t.indexed()
}

/// A tenant with `assets` assets spread over `districts` участки (every one
/// open to the anonymous user), ten assets a location and a company per
/// участок; the demo dictionaries.
pub fn big(assets: usize, districts: usize) -> Tenant {
    let districts = districts.max(1);
    let mut t = dictionaries(empty());
    t.districts = (1..=districts as i64)
        .map(|id| SimDistrict {
            id,
            name: format!("Участок № {id}"),
            parent_id: None,
        })
        .collect();
    t.anonymous_districts = (1..=districts as i64).collect();
    t.companies = (1..=districts as i64)
        .map(|d| SimCompany {
            id: 100 + d,
            name: format!("ООО «Объект {d}»"),
        })
        .collect();
    let per_location = 10;
    let locations = assets.div_ceil(per_location).max(1);
    t.locations = (0..locations as i64)
        .map(|i| {
            location(
                10_000 + i,
                &format!("Город, ул. Заводская, {}", i + 1),
                &format!("Корпус {}", i % 7 + 1),
                i % districts as i64 + 1,
            )
        })
        .collect();
    t.assets = (0..assets as i64)
        .map(|i| {
            let location_id = 10_000 + i / per_location as i64;
            let district = (i / per_location as i64) % districts as i64 + 1;
            DemoAsset {
                id: 100_000 + i,
                name: format!("Насос № {}", i + 1),
                serial: format!("SN-{:07}", i + 1),
                inventory: format!("ИНВ-{:07}", i + 1),
                location_id,
                company_id: 100 + district,
            }
        })
        .collect();
    t.indexed()
}
