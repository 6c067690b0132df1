import { describe, expect, it } from 'vitest';
import { Field, ObjectType } from 'type-graphql';

@ObjectType()
class Probe {
  @Field()
  name!: string;
}

describe('toolchain', () => {
  it('should emit decorator metadata under vitest', () => {
    expect(Reflect.getMetadata('design:type', Probe.prototype, 'name')).toBe(String);
  });
});
