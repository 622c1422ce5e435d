"""Models of the N+1 test shop: every relation kind a loop can walk."""
from django.db import models


class Profile(models.Model):
    bio = models.TextField()


class Author(models.Model):
    name = models.CharField(max_length=100)
    profile = models.OneToOneField(Profile, on_delete=models.CASCADE)  # forward one-to-one: nested select_related


class Publisher(models.Model):
    name = models.CharField(max_length=100)


class Tag(models.Model):
    name = models.CharField(max_length=50)


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE)  # forward FK
    publisher = models.ForeignKey(Publisher, on_delete=models.CASCADE)
    price = models.IntegerField()
    tags = models.ManyToManyField(Tag)  # through table shop_book_tags


class Reader(models.Model):
    name = models.CharField(max_length=100)


class Card(models.Model):
    reader = models.OneToOneField(Reader, on_delete=models.CASCADE)  # reverse one-to-one: reader.card
    number = models.CharField(max_length=20)


class Review(models.Model):
    book = models.ForeignKey(Book, on_delete=models.CASCADE)  # reverse FK: book.review_set
    reader = models.ForeignKey(Reader, on_delete=models.CASCADE)
    approved = models.BooleanField(default=False)
    stars = models.IntegerField()
