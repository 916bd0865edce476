//! Text columns that hold more than text: JSON documents, and names from a closed set as enums.
//! They read as fields of a `FromRow` struct; a value that does not read is a decode error of
//! its column, carrying why.

use serde::de::DeserializeOwned;
use sqlx::{
    Any, Decode, Type,
    any::{AnyTypeInfo, AnyValueRef},
    error::BoxDynError,
};

/// Reads a type from a TEXT column through its `TryFrom<String>`, whose error becomes the
/// column's decode error. (The field attribute `#[sqlx(try_from = "String")]` would do the same,
/// but sqlx 0.8 replaces the error with "unprintable error".)
macro_rules! text_column {
    ($name:ty) => {
        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                Ok(Self::try_from(text)?)
            }
        }
    };
}

pub(crate) use text_column;

/// An enum for a column holding one of a closed set of names: `as_str` names a value (bind
/// `.bind(value.as_str())`), and it reads back from the column (or `TryFrom<String>`), an
/// unknown name an [`UnknownName`] error. A `String` field can still check its column against
/// the set with `#[sqlx(try_from = "TheEnum")]`.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($column:literal) {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.as_str().to_owned()
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::UnknownName;

            fn try_from(name: String) -> Result<Self, Self::Error> {
                match name.as_str() {
                    $($text => Ok(Self::$variant),)+
                    _ => Err($crate::UnknownName { column: $column, name }),
                }
            }
        }

        $crate::columns::text_column!($name);
    };
}

pub(crate) use text_enum;

/// A column holding none of the names its enum knows.
#[derive(Debug, thiserror::Error)]
#[error("unknown {column} {name:?}")]
pub struct UnknownName {
    pub(crate) column: &'static str,
    pub(crate) name: String,
}

/// A TEXT column holding JSON.
pub(crate) struct JsonText<T>(pub T);

impl<T> Type<Any> for JsonText<T> {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as Type<Any>>::compatible(ty)
    }
}

impl<'r, T: DeserializeOwned> Decode<'r, Any> for JsonText<T> {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<'r, Any>>::decode(value)?;
        Ok(Self(serde_json::from_str(text)?))
    }
}

#[cfg(test)]
mod tests {
    text_enum! {
        pub enum Colour("colour") {
            Red = "red",
            DarkBlue = "dark_blue",
        }
    }

    #[test]
    fn a_name_reads_back_what_it_writes() {
        for colour in [Colour::Red, Colour::DarkBlue] {
            assert_eq!(
                Colour::try_from(colour.as_str().to_owned()).unwrap(),
                colour
            );
        }
        let unknown = Colour::try_from("green".to_owned()).unwrap_err();
        assert_eq!(unknown.to_string(), "unknown colour \"green\"");
    }
}
