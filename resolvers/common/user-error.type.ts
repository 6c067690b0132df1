import { Directive, Field, ObjectType } from 'type-graphql';
import { LIST_SIZE, listSize } from './directives.js';
import { UserErrorCode } from './enums.js';

@ObjectType({ description: 'A problem with the input that the caller can fix' })
export class UserError {
  @Field(() => UserErrorCode)
  code!: UserErrorCode;

  @Field()
  message!: string;

  @Directive(listSize(LIST_SIZE.fieldPath))
  @Field(() => [String], {
    nullable: true,
    description: 'path to the offending input field, e.g. ["customers", "1", "msisdn"]',
  })
  field?: string[];
}
