"""The helpers other API modules build on: object lookup with 404/403, service errors as 400s."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework.test import APIRequestFactory

from accounts.models import Role, SmartAccount
from accounts.api.permissions import get_visible_or_404
from accounts.permissions import ADMINISTER
from lib.api import exception_handler

from tests.factories import SmartAccountFactory, SmartAccountRoleFactory

pytestmark = pytest.mark.django_db


def request_by(user):
    request = APIRequestFactory().get("/")
    request.user = user
    return request


def test_visible_object_is_returned(user):
    account = SmartAccountRoleFactory(user=user, role=Role.SA_VIEWER).content_object
    assert get_visible_or_404(request_by(user), SmartAccount.objects.all(), pk=account.pk) == account


def test_invisible_object_is_404_like_an_unknown_one(user):
    account = SmartAccountFactory()
    with pytest.raises(Http404):
        get_visible_or_404(request_by(user), SmartAccount.objects.all(), pk=account.pk)
    with pytest.raises(Http404):
        get_visible_or_404(request_by(user), SmartAccount.objects.all(), pk=999999)


def test_malformed_id_is_404(user):
    with pytest.raises(Http404):
        get_visible_or_404(request_by(user), SmartAccount.objects.all(), pk="abc")


def test_visible_but_not_allowed_is_403(user):
    account = SmartAccountRoleFactory(user=user, role=Role.SA_VIEWER).content_object
    with pytest.raises(PermissionDenied):
        get_visible_or_404(request_by(user), SmartAccount.objects.all(), ADMINISTER, pk=account.pk)


@pytest.mark.parametrize(
    "error, body",
    [
        (ValidationError({"name": "A name is required."}), {"name": ["A name is required."]}),
        (ValidationError({"a": ["x", "y"], "b": "z"}), {"a": ["x", "y"], "b": ["z"]}),
        (ValidationError("The whole thing is wrong."), {"non_field_errors": ["The whole thing is wrong."]}),
    ],
)
def test_service_validation_errors_become_field_keyed_400s(error, body):
    response = exception_handler(error, {})
    assert response.status_code == 400
    assert response.data == body


def test_service_permission_denied_is_403_with_its_message():
    response = exception_handler(PermissionDenied("Only staff."), {})
    assert response.status_code == 403
    assert response.data == {"detail": "Only staff."}


def test_http404_is_404_without_the_model_name():
    response = exception_handler(Http404("No Smart Account found."), {})
    assert response.status_code == 404
    assert response.data == {"detail": "Not found."}
