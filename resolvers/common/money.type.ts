import { Directive, Field, ObjectType } from 'type-graphql';
import { DecimalScalar } from './scalars.js';

@ObjectType({ description: 'An exact amount of one currency' })
@Directive('@shareable')
export class Money {
  @Field(() => DecimalScalar)
  amount!: string;

  @Field({ description: 'ISO-4217: INR for Chillr, as sent for PBG' })
  currency!: string;
}
