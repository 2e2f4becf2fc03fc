"""Shapes of the accounts API: what comes in (checked for types only) and what goes out.

Rules (who may, what is unique, what an email must look like to be a member) are the services'."""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Partner, PartnerKind, PartnerMembership, User


class MePartnerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=PartnerKind.choices)
    is_admin = serializers.BooleanField()


class MeSerializer(serializers.ModelSerializer):
    partner = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "name", "partner", "is_staff"]

    @extend_schema_field(MePartnerSerializer(allow_null=True))
    def get_partner(self, user: User) -> dict | None:
        membership = getattr(user, "partner_membership", None)
        if membership is None:
            return None
        partner = membership.partner
        return {"id": partner.pk, "name": partner.name, "kind": partner.kind, "is_admin": membership.is_admin}


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name"]


class UserCreateSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class PartnerSerializer(serializers.ModelSerializer):
    distributors = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="Ids of its distributors.")
    linked_resellers = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Ids of the resellers a distributor sells through."
    )

    class Meta:
        model = Partner
        fields = ["id", "name", "kind", "distributors", "linked_resellers", "created_at"]


class PartnerCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=PartnerKind.choices)
    distributor = serializers.PrimaryKeyRelatedField(
        queryset=Partner.objects.all(), required=False, allow_null=True,
        help_text="Id of the distributor a new reseller sells through.",
    )


class PartnerMemberSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)

    class Meta:
        model = PartnerMembership
        fields = ["id", "user", "email", "name", "is_admin", "created_at"]


class PartnerMemberAddSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    is_admin = serializers.BooleanField(required=False, default=False)
