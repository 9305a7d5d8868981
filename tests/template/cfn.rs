//! Reading `template.yaml` as CloudFormation reads it: a YAML loader that turns the short-form tags (`!Ref X`,
//! `!GetAtt A.b`, `!Sub ...`) into their long forms (`{"Ref": "X"}`, `{"Fn::GetAtt": ["A", "b"]}`, ...), so a test
//! can tell a reference from a literal, and the test that it does.

use serde_json::{Map, Value, json};
use yaml_rust2::Event;
use yaml_rust2::parser::{EventReceiver, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

/// Builds a JSON value from YAML parser events, expanding CloudFormation's short-form tags.
#[derive(Default)]
struct CfnLoader {
    /// Open collections: an array, or an object with the key waiting for its value.
    stack: Vec<(Value, Option<String>, Option<Tag>)>,
    done: Option<Value>,
    error: Option<String>,
}

impl CfnLoader {
    fn push(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.done = Some(value),
            Some((Value::Array(items), _, _)) => items.push(value),
            Some((Value::Object(map), key, _)) => match key.take() {
                None => match value {
                    Value::String(k) => *key = Some(k),
                    other => *key = Some(other.to_string()),
                },
                Some(k) => {
                    if map.insert(k.clone(), value).is_some() {
                        self.error.get_or_insert(format!("duplicate key {k}"));
                    }
                }
            },
            Some(_) => unreachable!("only collections are stacked"),
        }
    }

    /// `!Name value` as CloudFormation expands it: `Ref` and `Condition` keep their names, the rest are `Fn::Name`,
    /// and `!GetAtt Resource.Attribute` splits at the first dot.
    fn expand(&mut self, tag: Option<Tag>, value: Value) -> Value {
        let Some(tag) = tag else { return value };
        if tag.handle != "!" {
            self.error.get_or_insert(format!("unexpected tag {}{}", tag.handle, tag.suffix));
            return value;
        }
        let value = match (tag.suffix.as_str(), value) {
            ("GetAtt", Value::String(s)) => match s.split_once('.') {
                Some((resource, attribute)) => json!([resource, attribute]),
                None => Value::String(s),
            },
            (_, value) => value,
        };
        let name = match tag.suffix.as_str() {
            "Ref" | "Condition" => tag.suffix.clone(),
            other => format!("Fn::{other}"),
        };
        json!({ name: value })
    }
}

impl EventReceiver for CfnLoader {
    fn on_event(&mut self, event: Event) {
        match event {
            Event::Scalar(text, style, _, tag) => {
                let value = if tag.is_some() || style != TScalarStyle::Plain {
                    Value::String(text)
                } else {
                    plain_scalar(&text)
                };
                let value = self.expand(tag, value);
                self.push(value);
            }
            Event::SequenceStart(_, tag) => self.stack.push((Value::Array(Vec::new()), None, tag)),
            Event::MappingStart(_, tag) => self.stack.push((Value::Object(Map::new()), None, tag)),
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, _, tag) = self.stack.pop().expect("balanced collections");
                let value = self.expand(tag, value);
                self.push(value);
            }
            Event::Alias(_) => {
                self.error.get_or_insert("aliases are not used in template.yaml".into());
            }
            _ => {}
        }
    }
}

/// A plain (unquoted) scalar as YAML's core schema reads it.
fn plain_scalar(text: &str) -> Value {
    match yaml_rust2::Yaml::from_str(text) {
        yaml_rust2::Yaml::Integer(i) => json!(i),
        yaml_rust2::Yaml::Real(r) => r.parse::<f64>().map_or_else(|_| json!(text), |f| json!(f)),
        yaml_rust2::Yaml::Boolean(b) => json!(b),
        yaml_rust2::Yaml::Null => Value::Null,
        _ => json!(text),
    }
}

pub(crate) fn load_cfn_yaml(text: &str) -> Value {
    let mut loader = CfnLoader::default();
    Parser::new_from_str(text).load(&mut loader, false).expect("template.yaml is valid YAML");
    if let Some(error) = loader.error {
        panic!("template.yaml: {error}");
    }
    loader.done.expect("template.yaml holds a document")
}

#[test]
fn short_tags_read_as_their_long_forms() {
    let doc = load_cfn_yaml(
        "a: !Ref Table\nb: !GetAtt Table.StreamArn\nc: !Sub ${Table.Arn}/index/GSI1\nd: [1, true, '1']\n",
    );
    assert_eq!(doc["a"], json!({ "Ref": "Table" }));
    assert_eq!(doc["b"], json!({ "Fn::GetAtt": ["Table", "StreamArn"] }));
    assert_eq!(doc["c"], json!({ "Fn::Sub": "${Table.Arn}/index/GSI1" }));
    assert_eq!(doc["d"], json!([1, true, "1"]));
}
