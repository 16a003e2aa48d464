//! Languages of the public pages: Russian by default, English second.
//!
//! Every text is a field of [`Texts`], so a template that names a missing text
//! does not compile and both languages always have the same set.

use axum::http::{header, HeaderMap};

pub use crate::domain::lang::{plural, Lang};

pub mod tr;
mod tr_en;

impl Lang {
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Ru => &RU,
            Lang::En => &EN,
        }
    }

    /// The language remembered in the `lang` cookie.
    pub fn from_cookie(headers: &HeaderMap) -> Option<Lang> {
        cookie(headers, "lang").and_then(Lang::parse)
    }

    /// An explicit choice (`?lang=`, a form field) wins, then the `lang`
    /// cookie, then `Accept-Language`; Russian when nothing matches.
    pub fn negotiate(explicit: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(l) = explicit.and_then(Lang::parse) {
            return l;
        }
        if let Some(l) = Lang::from_cookie(headers) {
            return l;
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        from_accept_language(accept).unwrap_or_default()
    }
}

/// A request's address without its `lang=` choice: the page itself, in
/// whichever language.
pub fn without_lang(uri: &axum::http::Uri) -> String {
    let path = uri.path();
    let rest: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("lang="))
        .collect();
    if rest.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", rest.join("&"))
    }
}

/// A cookie's value as the browser sent it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

pub fn lang_cookie(lang: Lang) -> (header::HeaderName, String) {
    (
        header::SET_COOKIE,
        format!(
            "lang={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
            lang.code()
        ),
    )
}

/// The supported language with the highest q-value in `Accept-Language`.
fn from_accept_language(value: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for part in value.split(',').take(20) {
        let mut pieces = part.split(';');
        let tag = pieces.next().unwrap_or("").trim();
        let q = pieces
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        if let Some(lang) = Lang::parse(primary) {
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
    }
    best.map(|(_, l)| l)
}

pub struct Texts {
    pub lang_name: &'static str,
    pub switch_to: &'static str,
    pub form_title: &'static str,
    pub serial: &'static str,
    pub inventory: &'static str,
    pub pick_asset: &'static str,
    pub pick_asset_hint: &'static str,
    pub pick_asset_placeholder: &'static str,
    pub not_listed: &'static str,
    pub description_label: &'static str,
    pub description_hint: &'static str,
    pub contact_heading: &'static str,
    pub contact_hint: &'static str,
    pub name_label: &'static str,
    pub phone_label: &'static str,
    pub email_label: &'static str,
    pub consent_label: &'static str,
    /// "Оператор персональных данных:" before the organisation's name.
    pub operator_label: &'static str,
    pub privacy_policy: &'static str,
    pub org_phone: &'static str,
    pub honeypot_label: &'static str,
    pub submit: &'static str,
    pub sending: &'static str,
    pub no_signup: &'static str,
    pub errors_summary: &'static str,
    /// "Исправьте" + count + one of these.
    pub errors_count: (&'static str, [&'static str; 3], [&'static str; 2]),
    pub status_title: &'static str,
    pub st_accepted: &'static str,
    pub st_delivered: &'static str,
    pub st_failed: &'static str,
    pub task_number: &'static str,
    pub task_status: &'static str,
    pub t_sent: &'static str,
    pub t_created: &'static str,
    pub t_in_work: &'static str,
    pub t_completed: &'static str,
    pub t_closed: &'static str,
    pub your_text: &'static str,
    pub keep_link: &'static str,
    pub refreshes: &'static str,
    pub refresh_now: &'static str,
    pub task_open: &'static str,
    pub status_changed_note: &'static str,
    pub checked_at: &'static str,
    pub report_another: &'static str,
    pub unknown_code_title: &'static str,
    pub unknown_code_text: &'static str,
    pub revoked_title: &'static str,
    pub revoked_text: &'static str,
    pub replaced_title: &'static str,
    pub replaced_text: &'static str,
    pub unassigned_title: &'static str,
    pub unassigned_text: &'static str,
    pub token_unknown_title: &'static str,
    pub token_unknown_text: &'static str,
    pub forbidden_title: &'static str,
    pub forbidden_text: &'static str,
    pub too_large_title: &'static str,
    pub too_large_text: &'static str,
    pub too_slow_title: &'static str,
    pub too_slow_text: &'static str,
    pub busy_title: &'static str,
    pub busy_text: &'static str,
    pub bad_request_title: &'static str,
    pub bad_request_text: &'static str,
    pub error_title: &'static str,
    pub error_text: &'static str,
    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub thanks_title: &'static str,
    pub thanks_text: &'static str,
    pub index_title: &'static str,
    pub index_hint: &'static str,
    pub index_code_label: &'static str,
    pub index_go: &'static str,
    pub enter_code: &'static str,
    pub try_again: &'static str,
    pub call_service: &'static str,
    pub err_description_short: &'static str,
    pub err_description_long: &'static str,
    pub err_name_long: &'static str,
    pub err_phone: &'static str,
    pub err_email: &'static str,
    pub err_consent: &'static str,
    pub err_asset: &'static str,
    pub err_expired: &'static str,
    pub err_code: &'static str,
    pub photos_label: &'static str,
    pub photos_hint: &'static str,
    pub photo_word: &'static str,
    pub photo_remove: &'static str,
    pub photos_kept: &'static str,
    pub photos_sent: &'static str,
    pub err_photo_count: &'static str,
    pub err_photo_size: &'static str,
    pub err_photo_total: &'static str,
    pub err_photo_pixels: &'static str,
    pub err_photo_heic: &'static str,
    pub err_photo_type: &'static str,
    pub err_photo_corrupt: &'static str,
    pub conversation: &'static str,
    pub no_messages: &'static str,
    pub staff_word: &'static str,
    pub you_word: &'static str,
    pub sending_state: &'static str,
    pub add_comment: &'static str,
    pub send_comment: &'static str,
    pub fixed_question: &'static str,
    pub fixed_yes: &'static str,
    pub fixed_no: &'static str,
    pub feedback_fixed_note: &'static str,
    pub feedback_not_fixed_note: &'static str,
    pub qr_keep: &'static str,
    pub err_comment_closed: &'static str,
    pub err_comment_length: &'static str,
    pub request_word: &'static str,
    pub st_short_accepted: &'static str,
    pub already_reported: &'static str,
    pub already_hint: &'static str,
    pub same_problem: &'static str,
    pub follower_note: &'static str,
    pub follow_mail_heading: &'static str,
    pub follow_mail_hint: &'static str,
    pub follow_mail_consent: &'static str,
    pub follow_mail_button: &'static str,
    pub follow_mail_done: &'static str,
    pub err_follow_consent: &'static str,
    pub mail_fixed_subject: &'static str,
    pub mail_fixed_text: &'static str,
    pub same_problem_note: &'static str,
    pub another_person: &'static str,
    pub too_many_title: &'static str,
    pub too_many_post: &'static str,
    pub too_many_get: &'static str,
    pub too_many_code: &'static str,
    pub duplicate_title: &'static str,
    pub duplicate_text: &'static str,
    pub duplicate_contact_note: &'static str,
    pub paused_title: &'static str,
    pub email_hint_mail: &'static str,
    pub mail_promise: &'static str,
    pub mail_accepted_subject: &'static str,
    pub mail_request_no: &'static str,
    pub mail_hello: &'static str,
    pub mail_accepted_text: &'static str,
    pub mail_status_text: &'static str,
    pub mail_equipment: &'static str,
    pub mail_link_text: &'static str,
    pub mail_footer: &'static str,
    pub challenge_heading: &'static str,
    pub challenge_hint: &'static str,
    pub challenge_question: &'static str,
    pub challenge_checking: &'static str,
    pub err_challenge: &'static str,
    pub link_label: &'static str,
    pub copy_link: &'static str,
    pub copied: &'static str,
}

pub static RU: Texts = Texts {
    lang_name: "Русский",
    switch_to: "English",
    form_title: "Сообщить о неисправности",
    serial: "Серийный №",
    inventory: "Инв. №",
    pick_asset: "Что именно не работает?",
    pick_asset_hint: "Выберите оборудование из списка или «Нет в списке».",
    pick_asset_placeholder: "— выберите —",
    not_listed: "Нет в списке",
    description_label: "Что случилось?",
    description_hint: "Что не работает, с какого времени, что вы уже пробовали. Не меньше {min} символов.",
    contact_heading: "Как с вами связаться",
    contact_hint: "Необязательно. Оставьте контакт, если готовы ответить на вопросы мастера.",
    name_label: "Имя",
    phone_label: "Телефон",
    email_label: "E-mail",
    consent_label: "Согласен(на) на обработку указанных персональных данных для работы по этой заявке (152-ФЗ).",
    operator_label: "Оператор персональных данных:",
    privacy_policy: "политика обработки персональных данных",
    org_phone: "Телефон:",
    honeypot_label: "Не заполняйте это поле",
    submit: "Отправить заявку",
    sending: "Отправляем…",
    no_signup: "Без регистрации. Сразу после отправки откроется страница вашей заявки.",
    errors_summary: "Введённый текст сохранён.",
    errors_count: ("Исправьте", ["ошибку", "ошибки", "ошибок"], ["", ""]),
    status_title: "Ваша заявка",
    st_accepted: "Принята. Передаём её в сервисную службу…",
    st_delivered: "Передана в сервисную службу.",
    st_failed: "Заявка сохранена, но сервисная служба пока не приняла её автоматически. Сотрудники видят это и обработают её вручную.",
    task_number: "Номер заявки",
    task_status: "Статус",
    t_sent: "Принята",
    t_created: "Передана в сервисную службу",
    t_in_work: "В работе",
    t_completed: "Выполнена",
    t_closed: "Закрыта",
    your_text: "Ваше описание",
    keep_link: "Сохраните ссылку на эту страницу (добавьте в закладки): по ней можно проверить статус заявки. Ссылка — единственный ключ к заявке, не пересылайте её посторонним.",
    refreshes: "Страница обновляется сама.",
    refresh_now: "Обновить",
    task_open: "Открыта",
    status_changed_note: "Статус заявки обновлён:",
    checked_at: "Статус на",
    report_another: "Сообщить о другой проблеме",
    unknown_code_title: "Код не найден",
    unknown_code_text: "Проверьте код на наклейке или отсканируйте его ещё раз. Если наклейка повреждена, сообщите администратору площадки.",
    revoked_title: "Этот код больше не действует",
    revoked_text: "Наклейка устарела. Поищите рядом новую наклейку или сообщите о неисправности администратору площадки.",
    replaced_title: "Эта наклейка заменена",
    replaced_text: "Пожалуйста, отсканируйте новую наклейку рядом. Если её нет, сообщите о неисправности администратору площадки.",
    unassigned_title: "Этот код ещё не подключён",
    unassigned_text: "Наклейка пока ни к чему не привязана. Сообщите о неисправности администратору площадки.",
    token_unknown_title: "Страница заявки не найдена",
    token_unknown_text: "Проверьте, что ссылка скопирована целиком. Если заявку нужно подать заново, отсканируйте QR-код на оборудовании.",
    forbidden_title: "Запрос отклонён",
    forbidden_text: "Форма была отправлена с другого сайта. Откройте её заново по QR-коду и отправьте ещё раз.",
    too_large_title: "Слишком большой запрос",
    too_large_text: "Сократите описание и отправьте форму ещё раз.",
    too_slow_title: "Связь слишком медленная",
    too_slow_text: "Фотографии не успели загрузиться. Отправьте форму ещё раз, когда связь станет лучше, или приложите меньше фотографий.",
    busy_title: "Сервер занят",
    busy_text: "Сейчас загружается слишком много фотографий. Отправьте форму ещё раз через минуту.",
    bad_request_title: "Не удалось прочитать форму",
    bad_request_text: "Вернитесь назад и отправьте форму ещё раз. Если ошибка повторяется, откройте форму заново по QR-коду.",
    error_title: "Что-то пошло не так",
    error_text: "Попробуйте ещё раз через минуту. Если вы отправляли заявку, вернитесь назад: введённый текст сохранится в форме.",
    not_found_title: "Страница не найдена",
    not_found_text: "Проверьте адрес или отсканируйте QR-код ещё раз.",
    thanks_title: "Спасибо!",
    thanks_text: "Заявка принята.",
    index_title: "Сообщить о неисправности",
    index_hint: "Отсканируйте QR-код на оборудовании камерой телефона или введите код с наклейки.",
    index_code_label: "Код с наклейки",
    index_go: "Открыть",
    enter_code: "Ввести код вручную",
    try_again: "Попробовать снова",
    call_service: "Позвонить:",
    err_description_short: "Опишите проблему чуть подробнее: не меньше {min} символов.",
    err_description_long: "Слишком длинное описание: сократите его до {max} символов.",
    err_name_long: "Слишком длинное имя.",
    err_phone: "Проверьте номер: например, +7 999 123-45-67.",
    err_email: "Проверьте адрес: например, ivan@example.ru.",
    err_consent: "Чтобы мы могли связаться с вами, отметьте согласие — или удалите контактные данные.",
    err_asset: "Выберите оборудование из списка или «Нет в списке».",
    err_expired: "Форма была открыта слишком долго. Проверьте текст и отправьте ещё раз.",
    err_code: "Код — 8 букв и цифр с наклейки, например 7K3M9Q2A.",
    photos_label: "Фото (необязательно)",
    photos_hint: "До 5 снимков: общий вид и табличка с моделью помогают мастеру.",
    photo_word: "Фото",
    photo_remove: "Убрать фото",
    photos_kept: "Можно не больше {max} фото: добавлено {kept} из {picked} выбранных.",
    photos_sent: "Отправленные фото",
    err_photo_count: "Можно приложить не больше {max} фото. Уберите лишние и отправьте ещё раз.",
    err_photo_size: "Фото больше {mb} МБ. Выберите снимок поменьше или сделайте новый.",
    err_photo_total: "Все фото вместе больше {mb} МБ. Приложите меньше снимков.",
    err_photo_pixels: "слишком большое изображение (больше {mp} мегапикселей). Выберите снимок поменьше.",
    err_photo_heic: "этот снимок HEIC/HEIF не удалось прочитать. Сделайте снимок в режиме «Наиболее совместимый» (JPEG) или приложите скриншот.",
    err_photo_type: "это не фото в формате JPEG, PNG, WebP или HEIC. Выберите другой файл.",
    err_photo_corrupt: "файл повреждён и не читается. Сделайте снимок заново.",
    conversation: "Переписка с сервисной службой",
    no_messages: "Здесь появятся ответы сотрудников.",
    staff_word: "Сервисная служба",
    you_word: "Вы",
    sending_state: "отправляется…",
    add_comment: "Добавить комментарий",
    send_comment: "Отправить комментарий",
    fixed_question: "Работы выполнены. Всё работает?",
    fixed_yes: "Исправлено, спасибо",
    fixed_no: "Всё ещё не работает",
    feedback_fixed_note: "Заявитель подтверждает: неисправность устранена, спасибо.",
    feedback_not_fixed_note: "Заявитель сообщает: оборудование всё ещё не работает.",
    qr_keep: "Сфотографируйте этот код — по нему страница откроется снова.",
    err_comment_closed: "Заявка закрыта: чтобы сообщить о новой проблеме, отсканируйте QR-код на оборудовании.",
    err_comment_length: "Напишите комментарий: от 2 до {max} символов.",
    request_word: "Заявка",
    st_short_accepted: "принята",
    already_reported: "Об этом уже сообщили",
    already_hint: "Если у вас та же проблема, нажмите кнопку — мы добавим ваше сообщение к заявке, мастеру не придётся разбираться с дублями.",
    same_problem: "У меня та же проблема",
    follow_mail_heading: "Сообщить, когда починят?",
    follow_mail_hint: "Оставьте e-mail — напишем один раз, когда работы будут выполнены.",
    follow_mail_consent: "Согласен(на) на обработку моего e-mail, чтобы мне сообщили об этой заявке (152-ФЗ).",
    follow_mail_button: "Сообщить мне",
    follow_mail_done: "Напишем на ваш e-mail, когда работы будут выполнены.",
    err_follow_consent: "Отметьте согласие — иначе мы не можем вам написать.",
    mail_fixed_subject: "Неисправность устранена",
    mail_fixed_text: "Работы по заявке, к которой вы присоединились («у меня та же проблема»), выполнены.",
    follower_note: "Спасибо: мы сообщили сервисной службе, что проблема касается и вас. Здесь виден статус этой заявки — сохраните ссылку ниже. Описание и переписку видит только тот, кто отправил заявку. Если проблема другая, сообщите о ней отдельно.",
    same_problem_note: "Ещё один заявитель сообщает о той же проблеме (через QR-код).",
    another_person: "Другой заявитель",
    too_many_title: "Слишком много запросов",
    too_many_post: "Из вашей сети только что пришло много отправок (в общей сети офиса так бывает, когда пишут сразу несколько человек). Подождите {secs} с и отправьте ещё раз: нажмите «Назад» — введённый текст сохранён.",
    too_many_get: "Из вашей сети только что пришло очень много запросов. Подождите {secs} с и попробуйте снова.",
    too_many_code: "По этой наклейке за последний час пришло очень много заявок. Подождите и отправьте позже — введённый текст сохранён ниже — или позвоните в сервисную службу.",
    duplicate_title: "Такая заявка уже есть",
    duplicate_text: "Несколько минут назад по этому коду пришла заявка с тем же текстом — мы уже работаем над ней. Если ваша проблема другая, опишите её иначе.",
    duplicate_contact_note: "Повторное сообщение с тем же текстом; контакт:",
    paused_title: "Мы уже знаем о проблеме",
    email_hint_mail: "На этот адрес придёт ссылка на заявку и письмо при каждом изменении статуса.",
    mail_promise: "Ссылка на эту страницу придёт на ваш e-mail; при изменении статуса мы напишем ещё.",
    mail_accepted_subject: "Заявка принята",
    mail_request_no: "Заявка №",
    mail_hello: "Здравствуйте!",
    mail_accepted_text: "Ваша заявка принята и передана в сервисную службу.",
    mail_status_text: "Статус вашей заявки изменился:",
    mail_equipment: "Оборудование:",
    mail_link_text: "Статус, ответы сотрудников и переписка — на странице заявки:",
    mail_footer: "Вы получили это письмо, потому что указали этот адрес в заявке. Ссылка — единственный ключ к заявке: не пересылайте письмо посторонним.",
    challenge_heading: "Проверка",
    challenge_hint: "Сейчас заявок больше обычного. Ответьте на вопрос, чтобы мы знали, что форму заполнил человек.",
    challenge_question: "Сколько будет",
    challenge_checking: "Проверяем, что форму заполнил человек…",
    err_challenge: "Ответьте на вопрос и отправьте форму ещё раз — всё, что вы написали, сохранено.",
    link_label: "Ссылка на заявку",
    copy_link: "Скопировать ссылку",
    copied: "Скопировано",
};

pub static EN: Texts = Texts {
    lang_name: "English",
    switch_to: "Русский",
    form_title: "Report a problem",
    serial: "Serial no.",
    inventory: "Inventory no.",
    pick_asset: "What exactly is not working?",
    pick_asset_hint: "Choose the equipment from the list, or “Not in the list”.",
    pick_asset_placeholder: "— choose —",
    not_listed: "Not in the list",
    description_label: "What is wrong?",
    description_hint: "What does not work, since when, what you have tried. At least {min} characters.",
    contact_heading: "How to reach you",
    contact_hint: "Optional. Leave a contact if you are happy to answer the technician's questions.",
    name_label: "Name",
    phone_label: "Phone",
    email_label: "E-mail",
    consent_label: "I agree to the processing of this personal data to handle this request (Russian law 152-FZ).",
    operator_label: "Personal data operator:",
    privacy_policy: "privacy policy",
    org_phone: "Phone:",
    honeypot_label: "Leave this field empty",
    submit: "Send the request",
    sending: "Sending…",
    no_signup: "No sign-up. Your request's own page opens right after sending.",
    errors_summary: "What you typed is kept.",
    errors_count: ("Please fix", ["", "", ""], ["problem", "problems"]),
    status_title: "Your request",
    st_accepted: "Accepted. Passing it to the service desk…",
    st_delivered: "Passed to the service desk.",
    st_failed: "Your request is saved, but the service desk could not take it automatically yet. Staff can see this and will handle it by hand.",
    task_number: "Request number",
    task_status: "Status",
    t_sent: "Received",
    t_created: "Passed to the service team",
    t_in_work: "In progress",
    t_completed: "Completed",
    t_closed: "Closed",
    your_text: "Your description",
    keep_link: "Keep the link to this page (bookmark it) to check the status later. The link is the only key to your request: do not share it.",
    refreshes: "This page refreshes itself.",
    refresh_now: "Refresh",
    task_open: "Open",
    status_changed_note: "The request's status has changed:",
    checked_at: "Status as of",
    report_another: "Report another problem",
    unknown_code_title: "Code not found",
    unknown_code_text: "Check the code on the sticker or scan it again. If the sticker is damaged, please tell the site administrator.",
    revoked_title: "This code is no longer in use",
    revoked_text: "The sticker is out of date. Look for a new sticker nearby, or report the problem to the site administrator.",
    replaced_title: "This label was replaced",
    replaced_text: "Please scan the new label nearby. If there is none, report the problem to the site administrator.",
    unassigned_title: "This code is not set up yet",
    unassigned_text: "The sticker is not linked to any equipment yet. Please report the problem to the site administrator.",
    token_unknown_title: "Request page not found",
    token_unknown_text: "Check that the whole link was copied. To report the problem again, scan the QR code on the equipment.",
    forbidden_title: "Request refused",
    forbidden_text: "The form was sent from another site. Open it again from the QR code and send it once more.",
    too_large_title: "Request too large",
    too_large_text: "Shorten the description and send the form again.",
    too_slow_title: "The connection is too slow",
    too_slow_text: "The photos did not finish uploading. Send the form again when the connection is better, or attach fewer photos.",
    busy_title: "The server is busy",
    busy_text: "Too many photos are being uploaded right now. Send the form again in a minute.",
    bad_request_title: "The form could not be read",
    bad_request_text: "Go back and send the form again. If this keeps happening, open the form again from the QR code.",
    error_title: "Something went wrong",
    error_text: "Please try again in a minute. If you were sending a request, go back: what you typed is kept in the form.",
    not_found_title: "Page not found",
    not_found_text: "Check the address or scan the QR code again.",
    thanks_title: "Thank you!",
    thanks_text: "Your request has been received.",
    index_title: "Report a problem",
    index_hint: "Scan the QR code on the equipment with your phone's camera, or type the code from the sticker.",
    index_code_label: "Code from the sticker",
    index_go: "Open",
    enter_code: "Enter a code by hand",
    try_again: "Try again",
    call_service: "Call",
    err_description_short: "Please describe the problem in a little more detail: at least {min} characters.",
    err_description_long: "The description is too long: please shorten it to {max} characters.",
    err_name_long: "The name is too long.",
    err_phone: "Please check the number, e.g. +7 999 123-45-67.",
    err_email: "Please check the address, e.g. ivan@example.com.",
    err_consent: "So that we may contact you, tick the consent box — or remove your contact details.",
    err_asset: "Choose the equipment from the list, or “Not in the list”.",
    err_expired: "The form was open for too long. Check the text and send it again.",
    err_code: "The code is the 8 letters and digits on the sticker, e.g. 7K3M9Q2A.",
    photos_label: "Photos (optional)",
    photos_hint: "Up to 5 pictures: an overall view and the model plate help the technician.",
    photo_word: "Photo",
    photo_remove: "Remove photo",
    photos_kept: "{max} photos at most: {kept} of the {picked} you picked were added.",
    photos_sent: "Photos sent",
    err_photo_count: "You can attach at most {max} photos. Remove some and send again.",
    err_photo_size: "A photo is larger than {mb} MB. Choose a smaller picture or take a new one.",
    err_photo_total: "The photos together are larger than {mb} MB. Attach fewer pictures.",
    err_photo_pixels: "the image is too large (over {mp} megapixels). Choose a smaller picture.",
    err_photo_heic: "this HEIC/HEIF picture could not be read. Take the photo in “Most compatible” (JPEG) mode or attach a screenshot.",
    err_photo_type: "this is not a JPEG, PNG, WebP or HEIC photo. Choose another file.",
    err_photo_corrupt: "the file is damaged and cannot be read. Take the photo again.",
    conversation: "Conversation with the service desk",
    no_messages: "Staff replies will appear here.",
    staff_word: "Service desk",
    you_word: "You",
    sending_state: "sending…",
    add_comment: "Add a comment",
    send_comment: "Send the comment",
    fixed_question: "The work is done. Is everything working?",
    fixed_yes: "Fixed, thank you",
    fixed_no: "Still not working",
    feedback_fixed_note: "The customer confirms: the fault is fixed, thank you.",
    feedback_not_fixed_note: "The customer reports: the equipment is still not working.",
    qr_keep: "Take a photo of this code to open this page again.",
    err_comment_closed: "The request is closed: to report a new problem, scan the QR code on the equipment.",
    err_comment_length: "Please write a comment of 2 to {max} characters.",
    request_word: "Request",
    st_short_accepted: "accepted",
    already_reported: "Already reported",
    already_hint: "If you have the same problem, press the button: we add your report to the open request instead of a duplicate.",
    same_problem: "I have the same problem",
    follow_mail_heading: "Tell me when it is fixed?",
    follow_mail_hint: "Leave your e-mail: we write once, when the work is done.",
    follow_mail_consent: "I agree to the processing of my e-mail to be told about this request (Russian law 152-FZ).",
    follow_mail_button: "Tell me",
    follow_mail_done: "We will e-mail you when the work is done.",
    err_follow_consent: "Tick the consent box, or we cannot write to you.",
    mail_fixed_subject: "The fault has been fixed",
    mail_fixed_text: "The work on the request you joined (\"I have the same problem\") is done.",
    follower_note: "Thank you: we told the service desk that the problem affects you too. This page shows the request's status — keep the link below. Only the person who sent the request sees its description and conversation. If your problem is a different one, report it separately.",
    same_problem_note: "Another person reports the same problem (via the QR code).",
    another_person: "Another person",
    too_many_title: "Too many requests",
    too_many_post: "A lot has just been sent from your network (on a shared office network this happens when several people write at once). Wait {secs} s and send again: press Back — what you typed is kept.",
    too_many_get: "Very many requests have just come from your network. Wait {secs} s and try again.",
    too_many_code: "This sticker has had very many requests in the last hour. Please send later — what you typed is kept below — or call the service desk.",
    duplicate_title: "This request already exists",
    duplicate_text: "A request with the same text came from this code a few minutes ago, and it is being handled. If your problem is a different one, describe it differently.",
    duplicate_contact_note: "The same text sent again; contact:",
    paused_title: "We already know about it",
    email_hint_mail: "We will e-mail you the link to your request and write when its status changes.",
    mail_promise: "The link to this page is on its way to your e-mail; we will write again when the status changes.",
    mail_accepted_subject: "Your request has been received",
    mail_request_no: "Request #",
    mail_hello: "Hello,",
    mail_accepted_text: "Your request has been received and passed to the service team.",
    mail_status_text: "The status of your request has changed:",
    mail_equipment: "Equipment:",
    mail_link_text: "The status, staff replies and the conversation are on your request's page:",
    mail_footer: "You get this e-mail because you gave this address with your request. The link is the only key to your request: do not forward this e-mail.",
    challenge_heading: "Check",
    challenge_hint: "We are getting more requests than usual. Answer the question so we know a person filled in the form.",
    challenge_question: "What is",
    challenge_checking: "Checking that a person filled in the form…",
    err_challenge: "Answer the question and send the form again — everything you wrote is kept.",
    link_label: "Link to your request",
    copy_link: "Copy the link",
    copied: "Copied",
};

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn russian_plurals_take_three_forms() {
        let forms = ["заявка", "заявки", "заявок"];
        let word = |n| plural(Lang::Ru, n, forms, ["request", "requests"]);
        for (n, want) in [
            (0, "заявок"),
            (1, "заявка"),
            (2, "заявки"),
            (4, "заявки"),
            (5, "заявок"),
            (11, "заявок"),
            (12, "заявок"),
            (14, "заявок"),
            (21, "заявка"),
            (22, "заявки"),
            (25, "заявок"),
            (101, "заявка"),
            (111, "заявок"),
            (1004, "заявки"),
        ] {
            assert_eq!(word(n), want, "{n}");
        }
        assert_eq!(
            plural(Lang::En, 1, forms, ["request", "requests"]),
            "request"
        );
        assert_eq!(
            plural(Lang::En, 21, forms, ["request", "requests"]),
            "requests"
        );
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn russian_unless_asked_otherwise() {
        assert_eq!(Lang::negotiate(None, &HeaderMap::new()), Lang::Ru);
        let h = headers(&[(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9,ru;q=0.8")]);
        assert_eq!(Lang::negotiate(None, &h), Lang::En);
        let h = headers(&[(header::ACCEPT_LANGUAGE, "de-DE,de;q=0.9")]);
        assert_eq!(Lang::negotiate(None, &h), Lang::Ru);
        let h = headers(&[(header::ACCEPT_LANGUAGE, "en;q=0.5,ru;q=0.9")]);
        assert_eq!(Lang::negotiate(None, &h), Lang::Ru);
    }

    #[test]
    fn explicit_choice_and_cookie_win() {
        let h = headers(&[
            (header::ACCEPT_LANGUAGE, "ru"),
            (header::COOKIE, "a=b; lang=en"),
        ]);
        assert_eq!(Lang::negotiate(None, &h), Lang::En);
        assert_eq!(Lang::negotiate(Some("ru"), &h), Lang::Ru);
        assert_eq!(Lang::negotiate(Some("xx"), &h), Lang::En);
    }
}
