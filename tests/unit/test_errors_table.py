from llm_responses.errors import ApiError, StatusCode


def test_codes_are_unique_and_messages_present():
    codes = [int(c) for c in StatusCode]
    assert len(codes) == len(set(codes))
    assert all(c.message for c in StatusCode)


def test_documented_messages():
    assert StatusCode(20100).message == "Task Created."
    assert StatusCode(40401).message == "Task Not Found."
    assert StatusCode(40602).message == "Task In Queue."
    assert (
        StatusCode(40210).message
        == "Insufficient funds. Your account's balance is too low to complete this request."
    )


def test_http_status_is_200_except_documented_ones():
    assert StatusCode.UNAUTHORIZED.http_status == 401
    assert StatusCode.NOT_FOUND.http_status == 404
    assert StatusCode.INTERNAL_ERROR.http_status == 500
    assert StatusCode.INVALID_FIELD.http_status == 200
    assert StatusCode.TASK_NOT_FOUND.http_status == 200


def test_invalid_field_expansion():
    assert ApiError.invalid_field("tag").message == "Invalid Field: 'tag'."
