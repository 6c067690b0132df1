import { Directive, Field, ObjectType } from 'type-graphql';
import { INHERIT_MAX_AGE } from './cache-control.js';
import { DecimalScalar } from './scalars.js';

@ObjectType({ description: 'An exact amount of one currency' })
@Directive('@shareable')
// A value inside whatever holds it (a payment, a purchase): cacheable exactly as long as that.
@Directive(INHERIT_MAX_AGE)
export class Money {
  @Field(() => DecimalScalar)
  amount!: string;

  @Field({ description: 'ISO-4217: INR for Chillr, as sent for PBG' })
  currency!: string;
}
