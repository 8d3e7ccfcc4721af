// Istio reads proxy.istio.io/config with sigs.k8s.io/yaml, which resolves plain (unquoted) scalars by
// go-yaml v2's YAML 1.1 rules. `yes`, `on`, `0b101` or `1_000` are strings to YAML 1.2 (and to the yaml
// package we parse with) but booleans and numbers to Istio, and proxyMetadata is a map<string,string>:
// Istio rejects such a value and its injector then denies the pod. This tells which plain scalars Istio
// would not read as strings. Timestamps stay strings: go-yaml v2 keeps them as text for interface{} targets.

export type GoYamlScalarType = 'string' | 'boolean' | 'null' | 'number';

const BOOLEANS = new Set([
  'y',
  'Y',
  'yes',
  'Yes',
  'YES',
  'true',
  'True',
  'TRUE',
  'on',
  'On',
  'ON',
  'n',
  'N',
  'no',
  'No',
  'NO',
  'false',
  'False',
  'FALSE',
  'off',
  'Off',
  'OFF',
]);
const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const SPECIAL_FLOATS = /^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
// go-yaml v2's yamlStyleFloat.
const YAML_STYLE_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
// What Go's strconv.ParseInt(s, 0, 64) accepts, plus go-yaml's own 0b handling.
const GO_INTEGER = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[0-9]+)$/;

/** How go-yaml v2 types the plain scalar written as `source`. */
export function goYamlPlainScalarType(source: string): GoYamlScalarType {
  if (BOOLEANS.has(source)) return 'boolean';
  if (NULLS.has(source)) return 'null';
  if (SPECIAL_FLOATS.test(source)) return 'number';
  if (source.startsWith('.')) return YAML_STYLE_FLOAT.test(source) ? 'number' : 'string';
  if (/^[-+0-9]/.test(source)) {
    // go-yaml v2 drops every underscore before trying numbers that start with a sign or digit.
    const digits = source.replaceAll('_', '');
    if (GO_INTEGER.test(digits) || YAML_STYLE_FLOAT.test(digits)) return 'number';
  }
  return 'string';
}
