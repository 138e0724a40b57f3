//! The expressions `bucket_script` and `bucket_selector` run: the arithmetic and comparisons
//! Kibana (TSVB, Lens formulas) and Grafana generate — `params.a / params.b * 100`,
//! `params.count > 10 && params.avg < 0.5`, `params.x != null ? params.x : 0`, `Math.abs(..)`.
//! Not Painless: anything else (assignments, loops, method calls on values) is refused with the
//! place it stops at. Hand-written because no crate parses this Painless subset; recursion is
//! bounded so that no script can exhaust the stack.

use std::collections::HashMap;

use crate::error::QueryError;

/// Deepest nesting of an expression.
const MAX_DEPTH: usize = 64;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Null,
    Bool(bool),
    Var(String),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

/// A value while evaluating: a number, a boolean or null.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val {
    Num(f64),
    Bool(bool),
    Null,
}

impl Val {
    /// As a number (`null` is not one).
    pub fn num(self) -> Option<f64> {
        match self {
            Val::Num(x) => Some(x),
            _ => None,
        }
    }

    /// As a condition.
    pub fn truthy(self) -> bool {
        matches!(self, Val::Bool(true))
    }
}

fn refuse(source: &str, at: usize, why: &str) -> QueryError {
    QueryError::IllegalArgument(format!(
        "cannot run script [{source}] at character {at}: {why}; Hydrant runs the arithmetic and comparisons of params (+ - * / %, < <= > >= == !=, && || !, ?:, Math.*), not Painless"
    ))
}

/// Parses `source` (a `return` and a final `;` allowed).
pub fn parse(source: &str) -> Result<Expr, QueryError> {
    let trimmed = source.trim().trim_end_matches(';').trim();
    let body = trimmed.strip_prefix("return ").unwrap_or(trimmed);
    let mut p = Parser {
        src: body,
        full: source,
        pos: 0,
        depth: 0,
    };
    let e = p.ternary()?;
    p.ws();
    if p.pos < p.src.len() {
        return Err(refuse(source, p.pos, "unexpected input"));
    }
    Ok(e)
}

struct Parser<'a> {
    src: &'a str,
    full: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.src[self.pos..].starts_with(|c: char| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, s: &str) -> bool {
        self.ws();
        if self.src[self.pos..].starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn deeper(&mut self) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(refuse(self.full, self.pos, "nested too deeply"));
        }
        Ok(())
    }

    fn ternary(&mut self) -> Result<Expr, QueryError> {
        self.deeper()?;
        let cond = self.or()?;
        let out = if self.eat("?") {
            let a = self.ternary()?;
            if !self.eat(":") {
                return Err(refuse(self.full, self.pos, "expected `:`"));
            }
            let b = self.ternary()?;
            Expr::Cond(Box::new(cond), Box::new(a), Box::new(b))
        } else {
            cond
        };
        self.depth -= 1;
        Ok(out)
    }

    fn binary(
        &mut self,
        ops: &[(&str, Op)],
        next: fn(&mut Self) -> Result<Expr, QueryError>,
    ) -> Result<Expr, QueryError> {
        let mut left = next(self)?;
        'outer: loop {
            for (s, op) in ops {
                self.ws();
                let rest = &self.src[self.pos..];
                // `<` must not take `<=`, `=` must not be an assignment.
                if rest.starts_with(s) && !(s.len() == 1 && rest[1..].starts_with('=')) {
                    self.pos += s.len();
                    let right = next(self)?;
                    left = Expr::Bin(*op, Box::new(left), Box::new(right));
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        self.binary(&[("||", Op::Or)], Self::and)
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        self.binary(&[("&&", Op::And)], Self::equality)
    }

    fn equality(&mut self) -> Result<Expr, QueryError> {
        self.binary(&[("==", Op::Eq), ("!=", Op::Ne)], Self::comparison)
    }

    fn comparison(&mut self) -> Result<Expr, QueryError> {
        self.binary(
            &[("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)],
            Self::additive,
        )
    }

    fn additive(&mut self) -> Result<Expr, QueryError> {
        self.binary(&[("+", Op::Add), ("-", Op::Sub)], Self::multiplicative)
    }

    fn multiplicative(&mut self) -> Result<Expr, QueryError> {
        self.binary(
            &[("*", Op::Mul), ("/", Op::Div), ("%", Op::Rem)],
            Self::unary,
        )
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        self.deeper()?;
        let out = if self.eat("-") {
            Expr::Neg(Box::new(self.unary()?))
        } else if self.eat("!") {
            Expr::Not(Box::new(self.unary()?))
        } else {
            self.primary()?
        };
        self.depth -= 1;
        Ok(out)
    }

    fn ident(&mut self) -> &str {
        self.ws();
        let start = self.pos;
        while self.src[self.pos..]
            .starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.')
        {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        if self.eat("(") {
            // A cast such as `(double)` is accepted and ignored: every number is a double here.
            let save = self.pos;
            let word = self.ident().to_string();
            if matches!(word.as_str(), "double" | "float" | "long" | "int") && self.eat(")") {
                return self.unary();
            }
            self.pos = save;
            let e = self.ternary()?;
            if !self.eat(")") {
                return Err(refuse(self.full, self.pos, "expected `)`"));
            }
            return Ok(e);
        }
        self.ws();
        let rest = &self.src[self.pos..];
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            let len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E'))
                .unwrap_or(rest.len());
            let text = rest[..len].trim_end_matches(['d', 'D', 'f', 'F', 'L', 'l']);
            let n: f64 = text
                .parse()
                .map_err(|_| refuse(self.full, self.pos, "not a number"))?;
            self.pos += len;
            // Java suffixes (`2.0d`, `100L`).
            let _ = self.src[self.pos..]
                .starts_with(['d', 'D', 'f', 'F', 'L', 'l'])
                .then(|| self.pos += 1);
            return Ok(Expr::Num(n));
        }
        if let Some(name) = rest
            .strip_prefix("params['")
            .or_else(|| rest.strip_prefix("params[\""))
        {
            let end = name
                .find(['\'', '"'])
                .ok_or_else(|| refuse(self.full, self.pos, "unterminated name"))?;
            let var = name[..end].to_string();
            self.pos += "params['".len() + end + 2;
            return Ok(Expr::Var(var));
        }
        let word = self.ident().to_string();
        match word.as_str() {
            "" => Err(refuse(self.full, self.pos, "expected a value")),
            "null" => Ok(Expr::Null),
            "true" => Ok(Expr::Bool(true)),
            "false" => Ok(Expr::Bool(false)),
            w => {
                if let Some(var) = w.strip_prefix("params.") {
                    return Ok(Expr::Var(var.to_string()));
                }
                if w.starts_with("Math.") && self.eat("(") {
                    let mut args = Vec::new();
                    if !self.eat(")") {
                        loop {
                            args.push(self.ternary()?);
                            if self.eat(")") {
                                break;
                            }
                            if !self.eat(",") {
                                return Err(refuse(self.full, self.pos, "expected `,` or `)`"));
                            }
                        }
                    }
                    return Ok(Expr::Call(w.to_string(), args));
                }
                Err(refuse(self.full, self.pos, &format!("unknown name [{w}]")))
            }
        }
    }
}

/// Evaluates `e` with `vars` (a missing variable is null).
pub fn eval(e: &Expr, vars: &HashMap<String, Val>) -> Result<Val, String> {
    Ok(match e {
        Expr::Num(x) => Val::Num(*x),
        Expr::Null => Val::Null,
        Expr::Bool(b) => Val::Bool(*b),
        Expr::Var(v) => vars.get(v).copied().unwrap_or(Val::Null),
        Expr::Neg(a) => match eval(a, vars)? {
            Val::Num(x) => Val::Num(-x),
            _ => return Err("cannot negate a non-number".into()),
        },
        Expr::Not(a) => Val::Bool(!eval(a, vars)?.truthy()),
        Expr::Cond(c, a, b) => {
            if eval(c, vars)?.truthy() {
                eval(a, vars)?
            } else {
                eval(b, vars)?
            }
        }
        Expr::Call(name, args) => {
            let xs = args
                .iter()
                .map(|a| {
                    eval(a, vars)?
                        .num()
                        .ok_or_else(|| format!("[{name}] of null"))
                })
                .collect::<Result<Vec<f64>, String>>()?;
            let one = |f: fn(f64) -> f64| xs.first().map(|x| f(*x)).ok_or("missing argument");
            Val::Num(match name.as_str() {
                "Math.abs" => one(f64::abs)?,
                "Math.sqrt" => one(f64::sqrt)?,
                "Math.log" => one(f64::ln)?,
                "Math.log10" => one(f64::log10)?,
                "Math.exp" => one(f64::exp)?,
                "Math.floor" => one(f64::floor)?,
                "Math.ceil" => one(f64::ceil)?,
                "Math.round" => one(|x| (x + 0.5).floor())?,
                "Math.max" if xs.len() == 2 => xs[0].max(xs[1]),
                "Math.min" if xs.len() == 2 => xs[0].min(xs[1]),
                "Math.pow" if xs.len() == 2 => xs[0].powf(xs[1]),
                other => return Err(format!("unknown function [{other}]")),
            })
        }
        Expr::Bin(op, a, b) => {
            let (x, y) = (eval(a, vars)?, eval(b, vars)?);
            match op {
                Op::And => Val::Bool(x.truthy() && y.truthy()),
                Op::Or => Val::Bool(x.truthy() || y.truthy()),
                Op::Eq => Val::Bool(x == y),
                Op::Ne => Val::Bool(x != y),
                arithmetic => numeric(*arithmetic, x, y)?,
            }
        }
    })
}

/// An arithmetic or ordering operator on two numbers.
fn numeric(op: Op, x: Val, y: Val) -> Result<Val, String> {
    let (Some(x), Some(y)) = (x.num(), y.num()) else {
        return Err("arithmetic on null".into());
    };
    Ok(match op {
        Op::Add => Val::Num(x + y),
        Op::Sub => Val::Num(x - y),
        Op::Mul => Val::Num(x * y),
        Op::Div => Val::Num(x / y),
        Op::Rem => Val::Num(x % y),
        Op::Lt => Val::Bool(x < y),
        Op::Le => Val::Bool(x <= y),
        Op::Gt => Val::Bool(x > y),
        Op::Ge => Val::Bool(x >= y),
        Op::And | Op::Or | Op::Eq | Op::Ne => return Err("not an arithmetic operator".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(src: &str, vars: &[(&str, f64)]) -> Val {
        let vars = vars
            .iter()
            .map(|(k, v)| (k.to_string(), Val::Num(*v)))
            .collect();
        eval(&parse(src).unwrap(), &vars).unwrap()
    }

    #[test]
    fn what_kibana_and_grafana_send() {
        assert_eq!(
            run("params.a / params.b * 100", &[("a", 1.0), ("b", 4.0)]),
            Val::Num(25.0)
        );
        assert_eq!(
            run(
                "return params.var1 - params.var2;",
                &[("var1", 5.0), ("var2", 7.0)]
            ),
            Val::Num(-2.0)
        );
        assert_eq!(
            run(
                "params._value0 > 10 && params._value1 <= 2",
                &[("_value0", 11.0), ("_value1", 2.0)]
            ),
            Val::Bool(true)
        );
        assert_eq!(
            run("params['my-var'] * 2", &[("my-var", 3.0)]),
            Val::Num(6.0)
        );
        assert_eq!(run("params.x != null ? params.x : 0", &[]), Val::Num(0.0));
        assert_eq!(
            run("Math.max(params.a, 3) + -(2)", &[("a", 1.0)]),
            Val::Num(1.0)
        );
        assert_eq!(run("(double) params.a / 2", &[("a", 3.0)]), Val::Num(1.5));
        assert_eq!(run("1 + 2 * 3 - 4 % 3", &[]), Val::Num(6.0));
        assert_eq!(run("!(params.a < 1)", &[("a", 0.5)]), Val::Bool(false));
    }

    #[test]
    fn anything_else_is_refused_and_depth_is_bounded() {
        assert!(parse("params.a = 3").is_err());
        assert!(parse("doc['x'].value").is_err());
        assert!(parse("for (x in y) {}").is_err());
        let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
        let e = parse(&deep).unwrap_err();
        assert!(e.to_string().contains("nested too deeply"), "{e}");
    }
}
