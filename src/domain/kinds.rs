//! The kinds things come in, each kept as a word in the database.

/// An enum kept as text (with a CHECK listing the same words in both
/// migration folders), read and written through the Any driver.
macro_rules! text_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $variant,)+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> <sqlx::Any as sqlx::Database>::TypeInfo {
                <&str as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &<sqlx::Any as sqlx::Database>::TypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, sqlx::Any>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(value: <sqlx::Any as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let s = <&str as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                $name::parse(s).ok_or_else(|| format!("unknown {} {s:?}", stringify!($name)).into())
            }
        }
    };
}

text_enum! {
    /// Where a request stands on its way to the task system.
    pub enum RequestStatus {
        /// Stored, its delivery queued.
        Accepted = "accepted",
        /// A delivery attempt has started.
        Delivering = "delivering",
        /// The task exists in the task system.
        Delivered = "delivered",
        /// The task system refused it for good.
        Failed = "failed",
    }
}

text_enum! {
    /// What an API token may do: read (viewer) or also change (admin).
    pub enum ApiRole {
        Admin = "admin",
        Viewer = "viewer",
    }
}

text_enum! {
    /// What an outbox job does.
    pub enum JobKind {
        CreateTask = "create_task",
        UploadAttachment = "upload_attachment",
        PostComment = "post_comment",
        PostNote = "post_note",
        SendMail = "send_mail",
        DeliverWebhook = "deliver_webhook",
    }
}

text_enum! {
    /// What an outgoing webhook tells of.
    pub enum WebhookEvent {
        /// A request was stored and its delivery queued.
        Accepted = "request.accepted",
        /// Its task exists in the task system.
        Delivered = "request.delivered",
        /// The task system refused it for good.
        Failed = "request.failed",
        /// The task's status name changed.
        StatusChanged = "request.status_changed",
        /// The customer wrote on the status page.
        Commented = "request.commented",
        /// Staff wrote in the task's conversation.
        Replied = "request.replied",
    }
}

text_enum! {
    /// Where one webhook delivery stands.
    pub enum DeliveryState {
        Pending = "pending",
        Delivered = "delivered",
        /// Every attempt failed, or the endpoint said 410 Gone.
        Failed = "failed",
    }
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 6] = [
        WebhookEvent::Accepted,
        WebhookEvent::Delivered,
        WebhookEvent::Failed,
        WebhookEvent::StatusChanged,
        WebhookEvent::Commented,
        WebhookEvent::Replied,
    ];
}

text_enum! {
    /// What a customer's message on the status page says.
    pub enum CommentKind {
        Comment = "comment",
        Fixed = "fixed",
        NotFixed = "not_fixed",
        SameProblem = "same_problem",
    }
}

text_enum! {
    /// Why a mail goes out.
    pub enum MailReason {
        /// The request was accepted (to the customer who asked).
        Accepted = "accepted",
        /// The task's status name changed.
        Status = "status",
        /// To a follower: the task they joined is done.
        Fixed = "fixed",
    }
}
