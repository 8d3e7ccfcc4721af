import { describe, expect, it } from '@jest/globals';
import { goYamlPlainScalarType, type GoYamlScalarType } from './go-yaml-scalars.js';

// Istio's sigs.k8s.io/yaml (go-yaml v2) resolves plain scalars by YAML 1.1 rules; YAML 1.2 disagrees on many.
describe('goYamlPlainScalarType', () => {
  const table: Array<[string, GoYamlScalarType]> = [
    ['true', 'boolean'],
    ['True', 'boolean'],
    ['TRUE', 'boolean'],
    ['false', 'boolean'],
    ['yes', 'boolean'],
    ['Yes', 'boolean'],
    ['NO', 'boolean'],
    ['on', 'boolean'],
    ['Off', 'boolean'],
    ['y', 'boolean'],
    ['N', 'boolean'],
    ['~', 'null'],
    ['null', 'null'],
    ['NULL', 'null'],
    ['', 'null'],
    ['0', 'number'],
    ['42', 'number'],
    ['-7', 'number'],
    ['+3', 'number'],
    ['0755', 'number'],
    ['0o17', 'number'],
    ['0x1F', 'number'],
    ['0b101', 'number'],
    ['-0b1', 'number'],
    ['1_000', 'number'],
    ['08', 'number'],
    ['3.14', 'number'],
    ['1e5', 'number'],
    ['-2.5E-3', 'number'],
    ['1.', 'number'],
    ['.5', 'number'],
    ['+.5', 'number'],
    ['.inf', 'number'],
    ['-.Inf', 'number'],
    ['.NaN', 'number'],
    // Strings, to Istio as to us.
    ['tRUE', 'string'],
    ['yess', 'string'],
    ['enabled', 'string'],
    ['nil', 'string'],
    ['None', 'string'],
    ['2024-01-01', 'string'],
    ['1:30', 'string'],
    ['v1.25', 'string'],
    ['.foo', 'string'],
    ['-', 'string'],
    ['+', 'string'],
    ['0x', 'string'],
    ['1.2.3', 'string'],
    ['_1', 'string'],
    ['dns.example.com', 'string'],
    ['/etc/certs/root.pem', 'string'],
  ];
  it.each(table)('%j is a %s to Istio', (source, type) => {
    expect(goYamlPlainScalarType(source)).toBe(type);
  });
});
